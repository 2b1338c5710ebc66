"Data-parallel training under `accelerate launch` with 2 CPU processes (gloo backend) on a tiny SynthVI run."
import json, os, subprocess, sys, textwrap
from pathlib import Path
import pytest

SCRIPT = textwrap.dedent('''
    import json, sys
    from kglfr.learner import TrainConfig, train
    root, out_dir = sys.argv[1], sys.argv[2]
    result = train(TrainConfig(root=root, backbone='resnet18', weights=None, size=(64, 32), epochs=2, p=4, k=2,
                               batches_per_epoch=3, valid_batches=1, eval_every=1, lr=0.01, out_dir=out_dir,
                               keep_checkpoint=True))
    print('RESULT', json.dumps(dict(rank_metrics=result['metrics'] is not None, epochs=len(result['history']))))
''')

def test_two_cpu_processes(tmp_path: Path):
    pytest.importorskip('accelerate')
    if __import__('torch').cuda.is_available(): pytest.skip('checks the CPU (gloo) path')
    synth = pytest.importorskip('kglfr.synth')
    synthvi, TEST_IDS = synth.synthvi, synth.TEST_IDS
    root = synthvi('sysu', TEST_IDS['sysu'])          # generated once here, not by both processes
    script = tmp_path/'train_tiny.py'
    script.write_text(SCRIPT)
    env = {**os.environ, 'KGLFR_QUIET': '1', 'OMP_NUM_THREADS': '1'}
    # `--multi_gpu` selects accelerate's multi-process (torchrun) launcher; `--cpu` alone starts a single process.
    # On a machine without CUDA, `train` then joins a gloo process group on the CPU.
    launcher = [sys.executable, '-m', 'accelerate.commands.launch', '--multi_gpu', '--num_processes', '2',
                '--num_machines', '1', '--mixed_precision', 'no', '--dynamo_backend', 'no']
    run = subprocess.run([*launcher, str(script), str(root), str(tmp_path/'run')], capture_output=True, text=True,
                         env=env, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    reports = [json.loads(line.split('RESULT ', 1)[1]) for line in run.stdout.splitlines() if 'RESULT ' in line]
    assert sorted(r['rank_metrics'] for r in reports) == [False, True]   # only the main process evaluates
    assert all(r['epochs'] == 2 for r in reports)
    result = json.loads((tmp_path/'run'/'result.json').read_text())
    assert {row['setting'] for row in result['metrics']} == {'mode=all', 'mode=indoor'}
    assert (tmp_path/'run'/'checkpoint.pth').exists() and (tmp_path/'run'/'curves.png').exists()   # kept on request
    assert json.loads((tmp_path/'run'/'run.json').read_text())['key'] == result['key']
