"Report: rankings under the protocols, figures without empty axes, and the HTML page in headless Chromium."
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
import torch
from kglfr.core import VIS, IR
from kglfr.metrics import rank_metrics
from kglfr import report

torch.set_num_threads(1)


@pytest.fixture(scope='module')
def setup():
    "The small SynthVI set and an untrained ResNet-18 AGW at 64x32."
    from kglfr.data import make_dataset
    from kglfr.model import AGW
    from kglfr.synth import synthvi, TEST_IDS
    ds = make_dataset('sysu', synthvi('sysu', TEST_IDS['sysu']))
    torch.manual_seed(0)
    return AGW(int(ds.train().label.nunique()), backbone='resnet18').eval(), ds, (64, 32)


def test_rank_hides_what_the_protocol_hides():
    rng = np.random.default_rng(0)
    query = pd.DataFrame(dict(path=[f'q{i}' for i in range(6)], pid=rng.integers(0, 3, 6), camid=rng.choice([3, 6], 6),
                              modality=IR))
    gallery = pd.DataFrame(dict(path=[f'g{i}' for i in range(12)], pid=np.arange(12) % 3, camid=rng.choice([1, 2, 4, 5], 12),
                                modality=VIS))
    distmat = rng.random((6, 12))
    ranking = report.rank(distmat, query, gallery, k=5, protocol='sysu')
    cam3 = query.camid.values == 3
    assert not (gallery.camid.values[ranking.top[cam3]] == 2).any()
    assert np.all(np.diff(ranking.distance, axis=1) >= 0)
    expected = rank_metrics(distmat, query.pid, gallery.pid, query.camid, gallery.camid, 'sysu')['mAP']
    assert np.isclose(np.nanmean(ranking.ap), expected)
    frame = ranking.frame()
    assert list(frame.columns) == ['query', 'rank', 'gallery', 'distance', 'match'] and len(frame) == 6 * ranking.top.shape[1]


def test_figures_have_no_empty_axes_and_label_everything(setup, tmp_path):
    model, ds, size = setup
    fig = report.retrieval_figure(model, ds, size, n_queries=3, path=tmp_path/'r.png')
    assert all(ax.images for ax in fig.axes) and (tmp_path/'r.png').stat().st_size > 0
    fig = report.gradcam_figure(model, ds, size, n=2, path=tmp_path/'g.png')
    assert sum(ax.get_label() == '<colorbar>' for ax in fig.axes) == 1
    assert all(ax.get_title() for ax in fig.axes if ax.images)
    fig = report.plot_cmc(report.cmc_curves(model, ds, size))
    ax, = fig.axes
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title() and ax.get_legend() is not None


def page(setup, tmp_path) -> tuple[Path, report.Ranking]:
    model, ds, size = setup
    ranking = report.ranked_gallery(model, ds, size, name='model')
    other = report.ranked_gallery(model, ds, size, name='same model')
    subsets = {'camera_3': ranking.query.camid.values == 3}
    return report.html_report(ranking, tmp_path, compare=other, subsets=subsets, title='test'), ranking


def test_page_is_self_contained(setup, tmp_path):
    path, ranking = page(setup, tmp_path)
    text = path.read_text()
    assert text.count('class="query"') == len(ranking.query)
    assert text.count('class="hit') == 2 * (ranking.top >= 0).sum()
    assert 'http://' not in text and 'https://' not in text
    shown = {p.name for p in (tmp_path/'thumbs').iterdir()}
    assert {f'q{i}.jpg' for i in range(len(ranking.query))} <= shown


@pytest.mark.skipif(not Path(report.CHROMIUM).is_file(), reason='chromium not installed (apt-get install chromium chromium-driver)')
def test_page_in_headless_chromium(setup, tmp_path):
    path, ranking = page(setup, tmp_path)
    seen = report.page_check(path, screenshot=tmp_path/'page.png')
    assert seen['errors'] == []
    assert seen['rows'] == len(ranking.query)
    assert seen['images'] == len(ranking.query) + 2 * (ranking.top >= 0).sum()
    worst_first = [float(a) for a in seen['ap_after'] if a]
    assert worst_first == sorted(worst_first) and seen['ap_after'] != seen['ap_before']
    assert (tmp_path/'page.png').stat().st_size > 1000
