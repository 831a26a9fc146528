"""Build hook: ship tools/ and configs/ inside ``mdn/.mim`` so ``mim train mdn CONFIG`` works.

Metadata lives in setup.cfg; this file only adds the OpenMMLab ``.mim`` folder (symlinks in an
editable install, copies in a regular one).
"""
import os
import os.path as osp
import shutil
import sys

from setuptools import setup

MIM_ITEMS = ('tools', 'configs')


def add_mim_extension() -> None:
    editable = any(arg in sys.argv for arg in ('develop', 'editable_wheel'))
    building = any(arg in sys.argv for arg in ('sdist', 'bdist_wheel', 'install', 'build'))
    if not (editable or building):
        return
    root = osp.dirname(osp.abspath(__file__))
    mim_dir = osp.join(root, 'mdn', '.mim')
    os.makedirs(mim_dir, exist_ok=True)
    for item in MIM_ITEMS:
        src, dst = osp.join(root, item), osp.join(mim_dir, item)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if editable:
            os.symlink(osp.relpath(src, mim_dir), dst)
        else:
            shutil.copytree(src, dst)


add_mim_extension()
setup()
