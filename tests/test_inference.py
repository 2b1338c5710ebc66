"Inference: run loading, FeatureExtractor, public AGW checkpoints, search vs evaluate, ONNX parity, the commands."
import json, os, subprocess, sys
import numpy as np
import pandas as pd
import pytest
import torch
from kglfr.core import VIS, IR, DataError

torch.set_num_threads(1)
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'KGLFR_QUIET': '1'}


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "A finished tiny run: ResNet-18 AGW from scratch, two batches on the small SynthVI set at 64x32."
    from kglfr.learner import TrainConfig, train
    from kglfr.synth import synthvi, TEST_IDS
    out = tmp_path_factory.mktemp('runs')/'tiny'
    train(TrainConfig(root=str(synthvi('sysu', TEST_IDS['sysu'])), backbone='resnet18', weights=None, size=(64, 32),
                      epochs=1, p=2, k=2, batches_per_epoch=2, valid_batches=1, out_dir=str(out)))
    return out


def command(*argv, cwd=None) -> subprocess.CompletedProcess:
    "Run a `kglfr` command in a fresh interpreter."
    code = f'from kglfr.cli import main; main({list(map(str, argv))!r})'
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=ENV, cwd=cwd, timeout=600)


def test_module_import_is_light():
    out = subprocess.run([sys.executable, '-c', 'import sys, kglfr.inference; print("torch" in sys.modules)'],
                         capture_output=True, text=True, env=ENV, timeout=120)
    assert out.stdout.strip() == 'False', out.stderr


def test_refuses_unfinished_runs(tmp_path):
    from kglfr.inference import FeatureExtractor
    (tmp_path/'run.json').write_text('{}')
    with pytest.raises(DataError, match='not a finished run'): FeatureExtractor(tmp_path)
    with pytest.raises(DataError, match='no such run folder'): FeatureExtractor(tmp_path/'missing')


def test_features_equal_evaluation_features(run):
    from kglfr.inference import FeatureExtractor, load_run
    from kglfr.evaluate import extract_features
    model, ds, config = load_run(run)
    test = ds.table[ds.table.split == 'test'].groupby('modality').head(2)
    expected = extract_features(model, ds.images(config.size), test.index.values, test.modality.values)[1]
    extractor = FeatureExtractor(run, device='cpu')
    got = extractor([ds.root/p for p in test.path], 'auto')
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)


def test_public_checkpoint_round_trip(tmp_path):
    from kglfr.inference import checkpoint_model, rename_state, FeatureExtractor
    from kglfr.model import AGW
    torch.manual_seed(0)
    agw = AGW(8, backbone='resnet50', weights=None, nl_inter_channels=1).eval()
    for p in agw.parameters(): p.data += 0.01 * torch.randn_like(p)
    public = rename_state(agw.state_dict(), to_kglfr=False)
    assert {k.split('.')[0] for k in public} == {'visible_module', 'thermal_module', 'base_resnet', 'NL_2', 'NL_3',
                                                  'bottleneck', 'classifier'}
    public['visible_module.visible.layer1.0.conv1.weight'] = torch.zeros(64, 64, 1, 1)   # unused by the public model
    torch.save({'net': {f'module.{k}': v for k, v in public.items()}, 'cmc': np.ones(20), 'mAP': np.float64(.5),
                'epoch': 3}, tmp_path/'agw.t')
    images = np.random.default_rng(0).integers(0, 255, (4, 64, 32, 3), dtype=np.uint8)
    extractor = FeatureExtractor(tmp_path/'agw.t', device='cpu', size=(64, 32))
    with torch.inference_mode():
        from kglfr.augment import normalize
        x = normalize(torch.from_numpy(images).permute(0, 3, 1, 2))
        expected = torch.cat([agw(x[:2], VIS)[1], agw(x[2:], IR)[1]]).numpy()
    np.testing.assert_allclose(extractor(images, [VIS, VIS, IR, IR]), expected, atol=1e-6)   # batch split differs
    torch.save({'net': {**public, 'bottleneck.weight': torch.ones(10)}}, tmp_path/'bad.t')
    with pytest.raises(DataError, match='mis-shaped'): checkpoint_model(tmp_path/'bad.t')
    torch.save({'net': {**public, 'NL_9.0.g.0.weight': torch.ones(1)}}, tmp_path/'odd.t')
    with pytest.raises(DataError, match='fit neither layout'): checkpoint_model(tmp_path/'odd.t')


def test_checkpoint_needing_objects_is_refused(tmp_path):
    from kglfr.inference import read_checkpoint
    import argparse
    torch.save({'net': {'classifier.weight': torch.zeros(2, 2)}, 'args': argparse.Namespace(lr=.1)}, tmp_path/'x.t')
    with pytest.raises(DataError, match='refused, loading it would unpickle argparse.Namespace'):
        read_checkpoint(tmp_path/'x.t')


def test_search_metrics_equal_evaluate(run, tmp_path):
    from kglfr.inference import load_run
    from kglfr.evaluate import evaluate, evaluation_lists
    model, ds, config = load_run(run)
    out = command('search', '--run', run, '--dataset', 'sysu', '--root', ds.root, '--mode', 'indoor', '--trial', 2,
                  '--out', tmp_path/'s', '--device', 'cpu')
    assert out.returncode == 0, out.stderr
    assert 'report to' in out.stdout and '| queries' in out.stdout
    metrics = pd.read_csv(tmp_path/'s'/'metrics.csv').iloc[0]
    expected = evaluate(model, ds, config.size, settings=[dict(mode='indoor')], trials=[2]).query("variant == 'plain'")
    np.testing.assert_allclose(metrics[expected.metric].values.astype(float), expected['mean'].values, atol=1e-6)
    ranking = pd.read_csv(tmp_path/'s'/'ranking.csv')
    assert list(ranking.columns) == ['query', 'rank', 'gallery', 'distance', 'match']
    page = (tmp_path/'s'/'report.html').read_text()
    (query, _), = evaluation_lists(ds, [dict(mode='indoor')], [2]).values()
    assert page.count('class="query"') == len(query)               # also queries the protocol leaves no image to show
    assert set(ranking['query']) <= set(query.path)


def test_search_of_folders(run, tmp_path):
    from kglfr.inference import load_run
    _, ds, _ = load_run(run)
    folder = tmp_path/'mine'; folder.mkdir()
    for i, p in enumerate(ds.table.path[:5]): (folder/f'{i}.jpg').write_bytes((ds.root/p).read_bytes())
    out = command('search', '--run', run, '--query', folder, '--gallery', folder, '--top', 3, '--out', tmp_path/'s',
                  '--device', 'cpu')
    assert out.returncode == 0, out.stderr
    ranking = pd.read_csv(tmp_path/'s'/'ranking.csv')
    first = ranking[ranking['rank'] == 1]
    assert (first['query'] == first['gallery']).all() and 'match' not in ranking


def test_extract_command(run, tmp_path):
    from kglfr.inference import load_run
    _, ds, _ = load_run(run)
    out = command('extract', '--run', run, '--images', ds.root, '--out', tmp_path/'f.npz', '--device', 'cpu')
    assert out.returncode == 0, out.stderr
    saved = np.load(tmp_path/'f.npz')
    assert saved['features'].shape == (len(ds.table), 512)
    assert saved['modality'].tolist() == ds.table.modality.tolist()      # the dataset layout tells the modality


def test_onnx_parity(run, tmp_path):
    import onnxruntime as ort
    from kglfr.inference import FeatureExtractor, export_onnx
    extractor = FeatureExtractor(run, device='cpu')
    diff = export_onnx(extractor, tmp_path/'m.onnx')
    assert set(diff) == {'visible', 'infrared'} and max(diff.values()) <= 1e-4
    session = ort.InferenceSession(str(tmp_path/'m.onnx'), providers=['CPUExecutionProvider'])
    images = np.random.default_rng(1).integers(0, 255, (7, 64, 32, 3), dtype=np.uint8)   # another batch size
    codes = np.array([0, 1, 1, 0, 1, 0, 0])
    got = session.run(None, dict(images=images, modality=codes))[0]
    assert np.abs(got - extractor(images, codes)).max() <= 1e-4


def test_evaluate_command(run, tmp_path):
    out = command('evaluate', '--run', run, '--out', tmp_path/'e', '--device', 'cpu')
    assert out.returncode == 0, out.stderr
    assert 'mode=all' in out.stdout and (tmp_path/'e'/'evaluation.csv').is_file()
    recorded = pd.DataFrame(json.loads((run/'result.json').read_text())['metrics'])
    written = pd.read_csv(tmp_path/'e'/'evaluation.csv')
    np.testing.assert_allclose(written['mean'].values, recorded['mean'].values, atol=1e-6)


def test_errors_name_the_problem(tmp_path):
    out = command('extract', '--run', tmp_path, '--images', tmp_path, '--out', tmp_path/'f.npz')
    assert out.returncode != 0 and 'not a finished run' in out.stderr
    out = command('search', '--run', tmp_path, '--out', tmp_path/'s')
    assert out.returncode != 0 and 'give --query and --gallery' in out.stderr


def test_commands_through_kglfr_cli(run, tmp_path):
    from kglfr.cli import parser
    if 'search' not in parser()._subparsers._group_actions[0].choices:
        pytest.skip('kglfr.cli does not register the inference commands yet')
    out = subprocess.run([sys.executable, '-m', 'kglfr.cli', 'export', '--run', str(run), '--out', str(tmp_path/'m.onnx')],
                         capture_output=True, text=True, env=ENV, timeout=600)
    assert out.returncode == 0, out.stderr
    assert (tmp_path/'m.onnx').is_file() and 'max abs diff, infrared' in out.stdout


def test_evaluate_writes_the_ranking_page(run, tmp_path):
    out = command('evaluate', '--run', run, '--out', tmp_path/'e', '--report', '--device', 'cpu')
    assert out.returncode == 0, out.stderr
    assert {'evaluation.csv', 'ranking.csv', 'report.html'} <= {p.name for p in (tmp_path/'e').iterdir()}


def test_reranked_search_equals_reranked_evaluate(run, tmp_path):
    from kglfr.inference import FeatureExtractor, search, load_run
    from kglfr.evaluate import evaluate
    model, ds, config = load_run(run)
    found = search(FeatureExtractor(run, device='cpu'), tmp_path, dataset='sysu', root=ds.root,
                   setting=dict(mode='all'), trial=1, rerank=True)
    expected = evaluate(model, ds, config.size, rerank=True, settings=[dict(mode='all')], trials=[1])
    expected = expected.query("variant == 'rerank'")
    np.testing.assert_allclose(pd.Series(found['metrics'])[expected.metric].values, expected['mean'].values, atol=1e-6)
