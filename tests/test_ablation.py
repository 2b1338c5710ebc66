"The ablate/tables commands as a user runs them: one-line errors, and no writes into tracked files unless asked."
import subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMAND = 'from kglfr.cli import main; main()'

def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', COMMAND, *args], cwd=cwd, capture_output=True, text=True, timeout=300)

def status(path: str) -> str:
    return subprocess.run(['git', '-C', str(ROOT), 'status', '--porcelain', '--', path], capture_output=True, text=True).stdout

needs_git = pytest.mark.skipif(not (ROOT/'.git').exists(), reason='needs the project checkout')

def test_tables_without_runs_is_one_line(tmp_path):
    out = run('tables', '--runs', str(tmp_path/'none'), '--no-figures')
    assert out.returncode == 1
    assert out.stderr.startswith('kglfr tables: error: no Table 2 runs under') and out.stderr.count('\n') == 1

@needs_git
def test_ablate_refuses_tracked_results_before_training(tmp_path):
    before = status('results')
    out = run('ablate', '--out-dir', str(tmp_path/'runs'), '--results', 'results/table2')
    assert out.returncode == 1 and '--write-results' in out.stderr and out.stderr.count('\n') == 1
    assert not (tmp_path/'runs').exists()                    # refused before any run started
    assert status('results') == before

@needs_git
def test_tables_refuses_tracked_out_dir(tmp_path):
    out = run('tables', '--runs', str(tmp_path), '--out-dir', 'results/table2', '--no-figures')
    assert out.returncode == 1 and '--write-results' in out.stderr

def test_unknown_notebook_parameter_is_rejected(tmp_path):
    out = run('ablate', '--out-dir', str(tmp_path/'runs'), '-p', 'use_kegrf=true')
    assert out.returncode == 1 and "unknown ablation parameter 'use_kegrf'" in out.stderr

def test_relative_paths_are_taken_from_the_working_directory(tmp_path):
    out = run('tables', '--runs', 'none', '--no-figures', cwd=tmp_path)
    assert out.returncode == 1 and f'no Table 2 runs under {tmp_path/"none"}' in out.stderr
