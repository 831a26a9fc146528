"""Save a randomly initialised checkpoint of a config's model, for speed and memory checks
of the tools (``tools/demo.py``, ``tools/test.py``) where no trained weights exist.

    python tools/analysis/random_checkpoint.py CONFIG OUT.pth [--seed 0]
"""
import argparse
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mdn.apis.config import load_config  # noqa: E402
from mdn.registry import MODELS  # noqa: E402
from mdn.utils import register_all_modules  # noqa: E402
from mdn.utils.io import atomic_write  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('out')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    register_all_modules()
    torch.manual_seed(args.seed)
    model = MODELS.build(load_config(args.config).model)
    with atomic_write(args.out) as f:
        torch.save(dict(state_dict=model.state_dict(), meta=dict(random_init=True)), f)
    print(f'wrote random weights of {args.config} to {args.out}')


if __name__ == '__main__':
    main()
