"""tools/benchmark.py on a tiny shape: runs, prints its table, writes the JSON report.
No timing is asserted."""
import importlib.util
import json
import os.path as osp

import pytest
import torch

from mdn.apis import benchmark as bench
from mdn.apis.benchmark import BenchmarkSettings, build_model, layout_with_keypoints

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MDN = osp.join(ROOT, 'configs/micro_dualnet/mdn_penn_action.py')
STGCN = osp.join(ROOT, 'configs/stgcn/stgcn_penn_action.py')
MODEL_KEYS = {'name', 'config', 'shape', 'layout', 'params', 'flops', 'train_clips_per_s',
              'train_times_s', 'latency_ms', 'latency_times_s', 'infer_clips_per_s',
              'infer_times_s', 'mem_train_mb', 'mem_infer_mb', 'mem_latency_mb'}


def _tool():
    spec = importlib.util.spec_from_file_location('benchmark_tool',
                                                  osp.join(ROOT, 'tools/benchmark.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_tool_compare_writes_json(tmp_path, capsys, monkeypatch):
    # phases in this process (fast); the subprocess path is tested below
    monkeypatch.setattr(bench, 'run_phase_subprocess', bench.run_phase)
    out = tmp_path / 'bench.json'
    _tool().main([MDN, '--compare', STGCN, '--shape', '8', '13', '--batch-train', '2',
                  '--batch-infer', '2', '--repeats', '2', '--warmup', '1',
                  '--out-json', str(out)])
    printed = capsys.readouterr().out
    assert 'mdn_penn_action' in printed and 'stgcn_penn_action' in printed
    assert 'mdn_penn_action vs stgcn_penn_action' in printed
    report = json.loads(out.read_text())
    assert set(report) == {'settings', 'env', 'models', 'ratios'}
    assert [m['name'] for m in report['models']] == ['mdn_penn_action', 'stgcn_penn_action']
    for m in report['models']:
        assert MODEL_KEYS <= set(m)
        assert m['shape'] == [8, 13, 5] and m['layout'] == 'penn_action_13'
        assert len(m['train_times_s']) == 2 and m['params'] > 0 and m['flops'] > 0
        assert m['train_clips_per_s'] > 0 and m['latency_ms'] > 0
    stgcn = report['models'][1]
    assert stgcn['flops'] > report['models'][0]['flops']
    (ratio,) = report['ratios']
    assert ratio['model'] == 'mdn_penn_action' and ratio['baseline'] == 'stgcn_penn_action'
    assert {'train_clips_per_s_ratio', 'latency_ratio', 'infer_clips_per_s_ratio'} <= set(ratio)
    assert report['settings']['batch_train'] == 2


def test_phase_in_subprocess():
    settings = BenchmarkSettings(clip_len=8, batch_train=2, batch_infer=2, repeats=1, warmup=1)
    result = bench.run_phase_subprocess(STGCN, 'train', settings)
    assert result['shape'] == [8, 13, 5] and len(result['train_times_s']) == 1
    assert result['mem_train_mb'] >= 0 and result['train_clips_per_s'] > 0


def test_shape_and_layout_overrides():
    assert layout_with_keypoints(133) == 'coco_wholebody_133'
    model, cfg, shape = build_model(STGCN, BenchmarkSettings(clip_len=12, num_keypoints=133))
    assert shape == (12, 133, 5) and cfg.model.layout == 'coco_wholebody_133'
    assert model.backbone.layout.num_keypoints == 133
    _, cfg, shape = build_model(MDN, BenchmarkSettings(layout='coco_17'))
    assert shape == (32, 17, 5) and cfg.model.layout == 'coco_17'  # T from the config
    with pytest.raises(ValueError, match='keypoints'):
        build_model(MDN, BenchmarkSettings(layout='coco_17', num_keypoints=133))
    with pytest.raises(ValueError, match='batch_train'):
        BenchmarkSettings(batch_train=0)
    with pytest.raises(ValueError, match="amp=True .*device='cuda'"):
        BenchmarkSettings(amp=True, device='cpu')


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_amp_training_phase_on_cuda():
    settings = BenchmarkSettings(clip_len=8, batch_train=2, batch_infer=2, repeats=1, warmup=1,
                                 device='cuda', amp=True)
    result = bench.run_phase(MDN, 'train', settings)
    assert result['train_clips_per_s'] > 0
