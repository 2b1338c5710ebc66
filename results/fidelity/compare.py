"""KEGFR erasing probability and KMLFR mask rendering against KGLFR-Net's defaults: mean ± std over seeds and paired bootstrap CIs.

Usage: python compare.py TABLE2_RUNS NAME=FOLDER ...  (writes kegfr_p_masks.csv in the working directory)"""
import sys, pandas as pd
from kglfr.ablation import load_records, load_per_query, paired_bootstrap, verdict, records_frame, config_name
table2, variants = sys.argv[1], dict(a.rsplit('=', 1) for a in sys.argv[2:])   # name=folder
default = {r['params']['seed']: r for r in load_records(table2) if config_name(r['params']) == 'kegfr_kmlfr'}
others = {name: {r['params']['seed']: r for r in load_records(folder)} for name, folder in variants.items()}
paired = set().union(*(set(runs) for runs in others.values()))
settings = {'defaults (kegfr_p=1.0, kmlfr_masks=hrnet_parity)': {s: r for s, r in default.items() if s in paired}, **others}
rows = []
for name, runs in settings.items():
    seeds = sorted(runs)
    frame = records_frame(list(runs.values()))
    plain = frame[(frame.variant == 'plain') & (frame.subset == 'all')]
    value = lambda setting, metric: plain[(plain.setting == setting) & (plain.metric == metric)].groupby('seed').value.mean()
    row = dict(setting=name, seeds=','.join(map(str, seeds)))
    for setting, label in (('mode=all', 'all'), ('mode=indoor', 'indoor')):
        for metric, m in (('r1', 'R-1'), ('mAP', 'mAP')):
            v = value(setting, metric); row[f'{label} {m}'] = f'{v.mean():.2f} ± {v.std(ddof=1):.2f}'
    if not name.startswith('defaults'):
        shared = [s for s in seeds if s in default]
        pairs = [(load_per_query(runs[s]['run_dir']), load_per_query(default[s]['run_dir'])) for s in shared]
        for metric, m in (('r1', 'R-1'), ('ap', 'mAP')):
            ci = paired_bootstrap(pairs, metric)
            row[f'Δ{m} vs defaults [95% CI]'] = f"{ci['diff']:+.2f} [{ci['lo']:+.2f}, {ci['hi']:+.2f}]"
            row[f'verdict ({m})'] = verdict(ci)
    row['run keys'] = ' '.join(runs[s]['key'] for s in seeds)
    rows.append(row)
table = pd.DataFrame(rows).fillna('–')
print(table.to_markdown(index=False))
table.to_csv('kegfr_p_masks.csv', index=False)
