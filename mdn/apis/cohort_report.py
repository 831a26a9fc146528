"""``report.html`` of a study: one self-contained page (figures embedded as base64, no network,
no scripts) that a clinician can open in any browser and print."""
import base64
import html
import time
from typing import Dict, Sequence

from mdn.utils.io import atomic_write

STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 60em;
       color: #222; line-height: 1.4; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em;
     border-bottom: 1px solid #bbb; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
th { background: #eee; } td.text, th.text { text-align: left; }
img { max-width: 100%; } .warn { color: #a40000; } .note { color: #555; font-size: 0.9em; }
@media print { body { margin: 0; max-width: none; } h2 { page-break-after: avoid; }
               img, table { page-break-inside: avoid; } }
"""

GLOSSARY = [
    ('count', 'segments of this micro-action in the recording'),
    ('total_s', 'seconds spent in it (sum of its segments)'),
    ('mean_s', 'mean length of one segment, seconds (empty when count is 0)'),
    ('rate_per_min', 'count per minute of recording; empty for recordings shorter than the '
     'minimum (a rate from a few seconds would be an extrapolation)'),
    ('duration_s', 'length of the recording, seconds'),
    ('coverage_<entity>', 'fraction of frames in which the pose model found that body part '
     '(face, hands, ...); below 0.5 the micro-actions of that part are unreliable'),
    ('rate_per_min_mean / _std', 'groups.csv: mean and standard deviation (n - 1) over the '
     "group's recordings that have a rate"),
]


def _img(path: str, alt: str) -> str:
    with open(path, 'rb') as f:
        data = base64.b64encode(f.read()).decode('ascii')
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(header: Sequence[str], rows: Sequence[Sequence], text_cols: int = 1) -> str:
    def cell(tag: str, i: int, value) -> str:
        klass = ' class="text"' if i < text_cols else ''
        return f'<{tag}{klass}>{html.escape(str(value))}</{tag}>'
    head = ''.join(cell('th', i, h) for i, h in enumerate(header))
    body = ''.join('<tr>' + ''.join(cell('td', i, v) for i, v in enumerate(row)) + '</tr>'
                   for row in rows)
    return f'<table><tr>{head}</tr>{body}</table>'


def write_report(path: str, recordings, reports: Dict[str, dict], failed: Dict[str, str],
                 files: Dict[str, str], settings: Dict[str, str], rate_min_s: float) -> str:
    """Write the page; ``files`` holds the figure paths (``heatmap_png``, ``groups_png``)."""
    from .cohort import cohort_labels, group_table
    labels = cohort_labels(list(reports.values()))
    done = [r for r in recordings if r.name in reports]
    total_s = sum(float(reports[r.name]['duration_s']) for r in done)
    parts = [f'<h1>Micro-action report: {len(recordings)} recordings</h1>',
             f'<p class="note">{time.strftime("%Y-%m-%d %H:%M")} · config '
             f'{html.escape(settings.get("config", ""))} · checkpoint '
             f'{html.escape(settings.get("checkpoint", ""))}'
             + (f' · options {html.escape(settings["demo_args"])}'
                if settings.get('demo_args') else '') + '</p>',
             f'<p>{len(done)} recordings analysed ({total_s / 60:.1f} minutes), '
             f'{len(failed)} skipped; {len(labels)} micro-actions. Rates per minute are '
             f'given for recordings of at least {rate_min_s:g} s.</p>']
    short = [r.name for r in done if float(reports[r.name]['duration_s']) < rate_min_s]
    if short:
        parts.append(f'<p class="warn">{len(short)} recording(s) shorter than {rate_min_s:g} s '
                     'have no rate per minute (counts and seconds are still given).</p>')
    from .cohort import recording_stats
    stats = {r.name: recording_stats(reports[r.name], labels, rate_min_s) for r in done}
    seen = [k for k, label in enumerate(labels) if any(stats[n][k]['count'] for n in stats)]
    parts += ['<h2>Rates per recording</h2>', _img(files['heatmap_png'], 'rates heat map'),
              '<h2>Counts per recording</h2><p class="note">count (total seconds) of each '
              'micro-action found at least once</p>',
              _table(['recording', *[labels[k] for k in seen]],
                     [[r.name, *[f'{stats[r.name][k]["count"]} '
                                 f'({stats[r.name][k]["total_s"]:.1f} s)' for k in seen]]
                      for r in done])]
    parts += [
              '<h2>Groups</h2>', _img(files['groups_png'], 'rates by group')]
    header, rows = group_table(recordings, reports, rate_min_s)
    shown = [r for r in rows if any(v not in ('', 0, 0.0) for v in r[4:])]
    parts.append(_table(header, shown, text_cols=2) if shown
                 else '<p class="note">no micro-action found in any group</p>')
    parts.append('<h2>Recordings</h2>')
    entities = list(dict.fromkeys(e for rep in reports.values()
                                  for e in (rep.get('coverage') or {})))
    rec_rows, low = [], []
    for r in done:
        rep = reports[r.name]
        coverage = rep.get('coverage') or {}
        low += [f'{r.name}: {e} {coverage[e]:.0%}' for e in entities
                if e in coverage and coverage[e] < 0.5]
        rec_rows.append([r.name, r.subject, r.group, f'{float(rep["duration_s"]):.1f}',
                         len(rep.get('segments', []))]
                        + [f'{coverage[e]:.2f}' if e in coverage else '' for e in entities])
    parts.append(_table(['recording', 'subject', 'group', 'duration (s)', 'segments']
                        + [f'coverage {e}' for e in entities], rec_rows, text_cols=3))
    if not entities:
        parts.append('<p class="note">pose coverage not recorded by this version of the '
                     'timeline pipeline.</p>')
    if low:
        parts.append('<p class="warn">body parts found in less than half of the frames '
                     '(their micro-actions are unreliable): ' + html.escape('; '.join(low))
                     + '</p>')
    parts.append(f'<h2>Skipped recordings ({len(failed)})</h2>')
    if failed:
        by_name = {r.name: r for r in recordings}
        parts.append(_table(['recording', 'path', 'reason'],
                            [[n, by_name[n].path, reason] for n, reason in failed.items()],
                            text_cols=3))
    else:
        parts.append('<p class="note">none</p>')
    parts.append('<h2>Files and columns</h2><p class="note">cohort.csv: one row per recording '
                 'and micro-action; groups.csv: per group; skipped.csv: the recordings that '
                 'could not be analysed and why; recordings/&lt;name&gt;/: the timeline of each '
                 '(segments, timeline.png).</p>')
    parts.append(_table(['column', 'meaning'], GLOSSARY, text_cols=2))
    page = ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>Micro-action report'
            f'</title><style>{STYLE}</style></head><body>' + '\n'.join(parts)
            + '</body></html>\n')
    with atomic_write(path, 'w') as f:
        f.write(page)
    return path


__all__ = ['write_report', 'GLOSSARY']
