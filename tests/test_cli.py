"""The `kglfr` console command, run as a user runs it: in a subprocess, on generated SynthVI trees."""
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest

KGLFR = [sys.executable, '-m', 'kglfr.cli']


def run(*args, cwd=None, check=True):
    "Run `kglfr ARGS`; return the completed process (stdout and stderr as text)."
    env = dict(os.environ, KGLFR_QUIET='1')
    proc = subprocess.run([*KGLFR, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)
    if check: assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
    path = tmp_path_factory.mktemp('cli')
    os.environ['KGLFR_CACHE'] = str(path/'cache')
    return path


def test_help_lists_subcommands():
    out = run('--help').stdout
    for command in ('synth', 'check-data', 'keypoints', 'train'): assert command in out


def test_synth_then_check_data(workdir):
    root = workdir/'regdb'
    out = run('synth', '--layout', 'regdb', '--root', root, '--ids', 12).stdout
    assert 'written to' in out and (root/'idx'/'test_thermal_10.txt').is_file()
    report = run('check-data', root).stdout
    assert report.startswith('OK') and 'regdb' in report.lower()


def test_check_data_names_the_problem(workdir):
    root = workdir/'broken'
    run('synth', '--layout', 'sysu', '--root', root, '--ids', 16)
    (root/'exp'/'test_id.txt').unlink()
    proc = run('check-data', root, check=False)
    assert proc.returncode == 1
    assert 'test_id.txt' in proc.stdout + proc.stderr


def test_synth_refuses_a_foreign_folder(workdir):
    root = workdir/'occupied'
    root.mkdir(); (root/'notes.txt').write_text('mine')
    proc = run('synth', '--layout', 'llcm', '--root', root, '--ids', 16, check=False)
    assert proc.returncode != 0 and 'not empty' in proc.stderr
    assert (root/'notes.txt').read_text() == 'mine'


def test_keypoints_ground_truth(workdir):
    root = workdir/'sysu'
    run('synth', '--layout', 'sysu', '--root', root, '--ids', 16)
    summary = json.loads(run('keypoints', '--root', root, '--estimator', 'gt').stdout)
    assert summary['images'] == summary['detected'] > 0


def test_train_and_resume(workdir):
    root, out = workdir/'sysu', workdir/'run'
    if not root.exists(): run('synth', '--layout', 'sysu', '--root', root, '--ids', 16)
    args = ['train', '--root', root, '--backbone', 'resnet18', '--weights', 'None', '--size', 64, 32, '--epochs', 2,
            '--p', 4, '--k', 2, '--batches-per-epoch', 2, '--valid-batches', 1, '--eval-every', 2, '--out-dir', out]
    run(*args)
    result = json.loads((out/'result.json').read_text())
    assert result['epochs'] == 2 and len(result['history']) == 2
    metrics = {(m['setting'], m['metric']): m['mean'] for m in result['metrics'] if m['variant'] == 'plain'}
    assert 0 <= metrics[('mode=all', 'mAP')] <= 1
    run(*args, '--resume')   # a finished run resumes to the same end
    again = json.loads((out/'result.json').read_text())
    assert again['metrics'] == result['metrics']
