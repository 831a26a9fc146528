"""Named MMPose whole-body models and the RTMDet person detector, with model-zoo weights.

Configs are the ones shipped inside the mmpose wheel (``mmpose/.mim/configs``); the weight
URLs are those of the mmpose model zoo (metafiles next to the configs). :func:`fetch_weights`
downloads a URL once into the torch hub cache (where mmengine looks as well), before any model
is built, so that a machine without internet gets one clear error instead of a traceback; a
local path works as well.
"""
import os
import os.path as osp
import sys
from http.client import HTTPException
from typing import Optional, Tuple
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse

POSE_HINT = ('use weights you have as a local file with --checkpoint PATH (tools/demo.py: '
             '--pose-checkpoint PATH), or the offline backend --backend mediapipe')
DETECTOR_HINT = ('use local detector weights with --det-checkpoint PATH, or run without a '
                 'detector (--detector none)')


class WeightsUnavailableError(FileNotFoundError):
    """Model weights that are neither a local file nor downloadable (e.g. offline)."""

ZOO = 'https://download.openmmlab.com/mmpose/v1/projects'
WB = 'wholebody_2d_keypoint/rtmpose'

# name -> (config inside mmpose/.mim/configs, default checkpoint)
POSE_MODELS = {
    'rtmpose-m': (f'{WB}/coco-wholebody/rtmpose-m_8xb64-270e_coco-wholebody-256x192.py',
                  f'{ZOO}/rtmposev1/rtmpose-m_simcc-coco-wholebody_pt-aic-coco_270e-256x192-'
                  'cd5e845c_20230123.pth'),
    'rtmpose-l': (f'{WB}/coco-wholebody/rtmpose-l_8xb64-270e_coco-wholebody-256x192.py',
                  f'{ZOO}/rtmposev1/rtmpose-l_simcc-coco-wholebody_pt-aic-coco_270e-256x192-'
                  '6f206314_20230124.pth'),
    'rtmw-m': (f'{WB}/cocktail14/rtmw-m_8xb1024-270e_cocktail14-256x192.py',
               f'{ZOO}/rtmw/rtmw-dw-l-m_simcc-cocktail14_270e-256x192-20231122.pth'),
    'rtmw-l': (f'{WB}/cocktail14/rtmw-l_8xb1024-270e_cocktail14-256x192.py',
               f'{ZOO}/rtmw/rtmw-dw-x-l_simcc-cocktail14_270e-256x192-20231122.pth'),
    'rtmw-x': (f'{WB}/cocktail14/rtmw-x_8xb320-270e_cocktail14-384x288.py',
               f'{ZOO}/rtmw/rtmw-x_simcc-cocktail14_pt-ucoco_270e-384x288-f840f204_20231122.pth'),
    # DWPose: RTMPose architectures distilled on UBody + COCO-WholeBody.
    'dwpose-m': (f'{WB}/ubody/rtmpose-m_8xb64-270e_coco-ubody-wholebody-256x192.py',
                 f'{ZOO}/rtmposev1/rtmpose-m_simcc-ucoco_dw-ucoco_270e-256x192-'
                 'c8b76419_20230728.pth'),
    'dwpose-l': (f'{WB}/ubody/rtmpose-l_8xb32-270e_coco-ubody-wholebody-384x288.py',
                 f'{ZOO}/rtmposev1/rtmpose-l_simcc-ucoco_dw-ucoco_270e-384x288-'
                 '2438fd99_20230728.pth'),
}

# The person detector of mmpose's own whole-body inferencer (needs mmdet + full mmcv).
DETECTORS = {
    'rtmdet-m': ('demo/mmdetection_cfg/rtmdet_m_640-8xb32_coco-person.py',
                 f'{ZOO}/rtmposev1/rtmdet_m_8xb32-100e_coco-obj365-person-235e8209.pth'),
    'rtmdet-nano': ('demo/mmdetection_cfg/rtmdet_nano_320-8xb32_coco-person.py',
                    f'{ZOO}/rtmpose/rtmdet_nano_8xb32-100e_coco-obj365-person-05d8511e.pth'),
}


def mmpose_mim_dir() -> str:
    import mmpose
    return osp.join(osp.dirname(mmpose.__file__), '.mim')


def resolve(name_or_config: str, checkpoint: Optional[str], table: dict, subdir: str
            ) -> Tuple[str, Optional[str]]:
    """(config path, checkpoint) for a registered name or a config file path.

    ``checkpoint='default'`` means the model-zoo weights of a named model; None means random
    weights (tests, benchmarks); anything else is a local path or URL.
    """
    if name_or_config in table:
        rel, url = table[name_or_config]
        config = osp.join(mmpose_mim_dir(), subdir, rel)
        return config, (url if checkpoint == 'default' else checkpoint)
    if osp.isfile(name_or_config):
        if checkpoint == 'default':
            raise ValueError(f'{name_or_config}: a config file has no default checkpoint; '
                             'pass a checkpoint path or URL (or None for random weights)')
        return name_or_config, checkpoint
    raise ValueError(f'unknown model "{name_or_config}": use one of {sorted(table)} or a '
                     'config file path')


def resolve_pose_model(model: str, checkpoint: Optional[str] = 'default'
                       ) -> Tuple[str, Optional[str]]:
    return resolve(model, checkpoint, POSE_MODELS, 'configs')


def resolve_detector(model: str, checkpoint: Optional[str] = 'default'
                     ) -> Tuple[str, Optional[str]]:
    return resolve(model, checkpoint, DETECTORS, '')


def is_url(checkpoint: str) -> bool:
    return checkpoint.startswith(('http://', 'https://'))


def weights_cache_path(url: str) -> str:
    """Where mmengine / torch.hub keep a downloaded checkpoint: ``<hub dir>/checkpoints/NAME``."""
    from torch.hub import get_dir
    return osp.join(get_dir(), 'checkpoints', osp.basename(urlparse(url).path))


def download(url: str, path: str) -> None:
    """Download ``url`` to ``path`` (torch.hub writes a temp file and renames it at the end)."""
    from torch.hub import download_url_to_file
    download_url_to_file(url, path, progress=sys.stderr.isatty())


def fetch_weights(checkpoint: Optional[str], what: str = 'pose model',
                  hint: str = POSE_HINT) -> Optional[str]:
    """A local file for ``checkpoint``: None (random weights) stays None; a URL is downloaded
    once into the torch hub cache; a local path must exist. Other ``scheme://`` names are left
    to mmengine.

    Raises:
        WeightsUnavailableError: the download failed (offline, 404, ...) or the file is missing;
            the message names the URL or path and what to do instead.
    """
    if checkpoint is None:
        return None
    if is_url(checkpoint):
        cached = weights_cache_path(checkpoint)
        if osp.isfile(cached):
            return cached
        try:
            os.makedirs(osp.dirname(cached), exist_ok=True)
            download(checkpoint, cached)
        except (OSError, HTTPException) as err:
            reason = err.reason if isinstance(err, URLError) and not isinstance(
                err, HTTPError) else err
            raise WeightsUnavailableError(
                f'the {what} weights could not be downloaded from {checkpoint} ({reason}); '
                f'{hint}') from None
        return cached
    if '://' not in checkpoint and not osp.isfile(checkpoint):
        raise WeightsUnavailableError(f'{what} weights not found: {checkpoint} (no such file); '
                                      f'{hint}')
    return checkpoint
