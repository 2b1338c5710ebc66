"""The `kglfr` console command, run as a user runs it: in a subprocess, on generated SynthVI trees."""
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest

KGLFR = [sys.executable, '-m', 'kglfr.cli']


def run(*args, cwd=None, check=True, env=None):
    "Run `kglfr ARGS`; return the completed process (stdout and stderr as text)."
    env = dict(os.environ, KGLFR_QUIET='1', OMP_NUM_THREADS='1', **(env or {}))
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
    for command in ('synth', 'check-data', 'keypoints', 'train', 'bench', 'extract', 'search', 'export', 'evaluate',
                    'ablate', 'tables'):
        assert command in out


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
    out = run('keypoints', '--root', root, '--estimator', 'gt').stdout
    rows = dict(line.strip('|').replace(' ', '').split('|')[:2] for line in out.splitlines() if line.startswith('| '))
    assert int(rows['images']) == int(rows['detected']) > 0 and 'keypoints written to' in out


def tiny(root, *extra):
    "`kglfr train` arguments of a seconds-long run on the 16-identity SynthVI set at `root`."
    return ['train', '--root', root, '--backbone', 'resnet18', '--weights', 'None', '--size', 64, 32, '--epochs', 2,
            '--p', 4, '--k', 2, '--batches-per-epoch', 2, '--valid-batches', 1, '--eval-every', 2, '--recipe', 'agw',
            '--lr', 0.01, *extra]


@pytest.fixture(scope='module')
def sysu(workdir):
    root = workdir/'sysu'
    if not root.exists(): run('synth', '--layout', 'sysu', '--root', root, '--ids', 16)
    return root


@pytest.fixture(scope='module')
def project(workdir):
    "A folder that is a kglfr project for the command (its runs go to runs/ inside it)."
    path = workdir/'project'
    path.mkdir(exist_ok=True)
    (path/'pyproject.toml').write_text('[project]\nname = "kglfr"\n')
    return path


def one_line_error(proc, *contains):
    "The process failed with exit status 1 and a single stderr line (no traceback) containing `contains`."
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and 'Traceback' not in proc.stderr, proc.stderr
    for text in contains: assert text in lines[0], lines[0]
    return lines[0]


def test_train_help_is_light_and_lists_choices():
    code = ("import sys, contextlib, io\nfrom kglfr.cli import main\nout = io.StringIO()\n"
            "with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit): main(['train', '--help'])\n"
            "print(out.getvalue()); print('HEAVY', sorted(m for m in ('torch', 'fastai', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120).stdout
    assert out.rstrip().endswith('HEAVY []'), out[-300:]          # nothing heavy is imported to answer --help
    for choices in ('{sysu,regdb,llcm}', '{agw,kglfr,mcja,lba,mima}', '{kglfr_paper,agw,one_cycle,synth_cpu}', '{gt,yolo,hrnet}',
                    '{bf16,fp16,none}', '--preset {kglfr_paper'):
        assert choices in out, choices


def test_method_help_lists_its_options():
    out = run('train', '--method', 'agw', '--help').stdout
    assert 'options of method agw (--option NAME=VALUE):' in out
    assert 'triplet (one of wrt, hard; default wrt):' in out and 'margin (float; default 0.3):' in out


@pytest.mark.parametrize('args, message', [
    (['--lr', 'abc'], "argument --lr: 'abc' is not float|None"),
    (['--epochs', 'two'], "argument --epochs: 'two' is not int|None"),
    (['--p', 'x'], "argument --p: 'x' is not int"),
    (['--amp', 'fp8'], 'choose one of bf16, fp16, none'),
    (['--valid-batches', '0'], 'valid_batches must be at least 1'),
    (['--batches-per-epoch', '0'], 'batches_per_epoch must be at least 1'),
    (['--option', 'trplet=hard'], "unknown option 'trplet' of method 'agw'; valid options: last_stride"),
    (['--option', 'margin=abc'], "option margin: 'abc' is not float"),
    (['--method', 'kglfr', '--option', 'use_kegfr=maybe'], "option use_kegfr: 'maybe' is not bool"),
])
def test_bad_values_are_refused_before_any_work(args, message, workdir):
    one_line_error(run('train', '--root', workdir/'missing', *args, check=False), message)


def test_device_cuda_without_gpu_is_one_line(sysu):
    if __import__('torch').cuda.is_available(): pytest.skip('this machine has a GPU')
    one_line_error(run(*tiny(sysu, '--device', 'cuda'), check=False), 'no CUDA GPU is available')


def test_synth_zero_ids_is_an_error(workdir):
    one_line_error(run('synth', '--root', workdir/'zero', '--ids', 0, check=False), '--ids: 0 is not a positive number')
    assert not (workdir/'zero').exists()


def test_train_default_folder_result_and_resume(sysu, project):
    proc = run(*tiny(sysu, '--option', 'triplet=hard'), cwd=project)
    first = proc.stdout.splitlines()[0]
    assert first.startswith('run folder: runs/sysu-agw-triplet=hard-s0-'), first       # shown relative to the project
    out = project/first.split(': ', 1)[1]
    assert out.parent == project/'runs'
    assert '| mode=all' in proc.stdout and 'Rank-1 (%)' in proc.stdout and proc.stdout.rstrip().endswith('result.json')
    result = json.loads((out/'result.json').read_text(), parse_constant=lambda name: pytest.fail(f'bare {name}'))
    assert result['epochs'] == 2 and len(result['history']) == 2
    assert 0 <= {(m['setting'], m['metric']): m['mean'] for m in result['metrics'] if m['variant'] == 'plain'}[('mode=all', 'mAP')] <= 1
    run_json = json.loads((out/'run.json').read_text())
    assert run_json['key'] == out.name.rsplit('-', 1)[1] and run_json['torch_threads'] == 1
    assert run_json['params']['options']['triplet'] == 'hard'
    assert not (out/'checkpoint.pth').exists()                               # removed when the run finished
    umask = os.umask(0); os.umask(umask)
    assert (out/'result.json').stat().st_mode & 0o777 == 0o666 & ~umask
    assert result['timings']['train_images'] == 2 * 2 * 2 * 4 * 2
    again = run(*tiny(sysu, '--option', 'triplet=hard', '--resume'), cwd=project)   # same parameters, same folder
    assert f'no checkpoint in {out}: starting fresh' in again.stdout
    assert json.loads((out/'result.json').read_text())['metrics'] == result['metrics']


def test_switch_options_are_parsed_as_booleans(sysu, workdir):
    out = workdir/'switches'
    run(*tiny(sysu, '--method', 'kglfr', '--option', 'use_kegfr=false', '--option', 'use_kmlfr=FALSE',
              '--out-dir', out, '--keep-checkpoint'))
    history = json.loads((out/'result.json').read_text())['history']
    assert not any(name.startswith(('loss_kegfr', 'loss_kmlfr')) for name in history[0]), history[0]
    assert (out/'checkpoint.pth').exists()                                    # kept on request
    changed = run(*tiny(sysu, '--method', 'kglfr', '--option', 'use_kegfr=false', '--option', 'use_kmlfr=false',
                        '--out-dir', out, '--resume', '--lr', 0.05, '--epochs', 3), check=False)
    one_line_error(changed, 'settings differ from the checkpoint', 'epochs: 2 -> 3; lr: 0.01 -> 0.05')


def test_corrupt_checkpoint_is_named(sysu, workdir):
    out = workdir/'corrupt'
    out.mkdir()
    (out/'checkpoint.pth').write_bytes(os.urandom(4096))
    proc = run(*tiny(sysu, '--out-dir', out, '--resume'), check=False)
    one_line_error(proc, f"{out/'checkpoint.pth'}: not a readable checkpoint", 'Fix: delete it')


def test_debug_shows_the_traceback(sysu):
    debug = run(*tiny(sysu, '--valid-batches', 0, '--debug'), check=False)
    assert debug.returncode != 0 and 'Traceback' in debug.stderr and 'valid_batches must be at least 1' in debug.stderr
    assert 'Traceback' in run(*tiny(sysu, '--valid-batches', 0), check=False, env={'KGLFR_DEBUG': '1'}).stderr


def test_ctrl_c_says_how_to_resume_and_keeps_one_header(sysu, workdir):
    out = workdir/'interrupted'
    args = tiny(sysu, '--out-dir', out)
    for flag, value in (('--epochs', 20), ('--batches-per-epoch', 1), ('--eval-every', 1000)): args[args.index(flag) + 1] = value
    env = dict(os.environ, KGLFR_QUIET='1', OMP_NUM_THREADS='1')
    proc = subprocess.Popen([*KGLFR, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    log = out/'log.csv'
    for _ in range(1200):                                   # wait (up to 10 min) until two epochs are logged
        if log.exists() and len(log.read_text().splitlines()) >= 3 or proc.poll() is not None: break
        time.sleep(0.5)
    assert proc.poll() is None, 'the run ended before it could be interrupted'
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == 'interrupted; resume with --resume'
    run(*args, '--resume')
    lines = log.read_text().splitlines()
    assert sum(line.startswith('epoch') for line in lines) == 1 and len(lines) == 1 + 20


def test_keypoints_device_cuda_without_gpu(sysu):
    if __import__('torch').cuda.is_available(): pytest.skip('this machine has a GPU')
    one_line_error(run('keypoints', '--root', sysu, '--estimator', 'gt', '--device', 'cuda', check=False), 'no CUDA GPU')


def test_bench_writes_outside_tracked_results_by_default():
    code = "import inspect, kglfr.bench as b; print(inspect.signature(b.bench_main).parameters['out_dir'].default)"
    assert subprocess.run([sys.executable, '-c', code], capture_output=True, text=True).stdout.strip() == 'runs/bench'
    out = run('bench', '--help').stdout
    assert 'still minutes' in out and "default: the project's runs/bench" in out


def test_bench_writes_into_the_given_folder(workdir):
    proc = run('bench', '--quick', '--sections', 'evaluation', '--out-dir', 'report', cwd=workdir)
    assert (workdir/'report'/'README.md').is_file()
    assert proc.stdout.rstrip().endswith('report written to report/README.md')
    assert '| target' in proc.stdout


def test_nbdev_test_alias_is_installed():
    alias = Path(sys.executable).parent/'nbdev_test'
    assert alias.exists(), 'reinstall the package: pip install -e .'
    proc = subprocess.run([str(alias), '--help'], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and 'usage: nbdev_test' in proc.stdout


def test_missing_weights_are_reported_before_the_image_cache(sysu, workdir):
    cache = workdir/'fresh-cache'
    proc = run(*tiny(sysu, '--weights', workdir/'missing.pth', '--out-dir', workdir/'noweights'), check=False,
               env={'KGLFR_CACHE': str(cache)})
    one_line_error(proc, 'missing.pth does not exist')
    assert not list(cache.rglob('images_*')), 'the image cache was built before the weights were checked'


def test_tables_error_is_one_line(workdir):
    one_line_error(run('tables', '--runs', workdir/'no-runs', check=False), 'kglfr tables: error:')
