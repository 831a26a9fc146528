"""The docs run as written: README.md and docs/*.md.

* ```python blocks run in order, one subprocess per document, as in a Python session in the
  repo root, but in a scratch checkout (symlinks to mdn/, configs/, tools/, tests/, data/ and
  ../shared; mdn/ so that the tree's code wins over any installed copy) whose
  ``work_dirs/mdn_synthetic/`` holds the checkpoint the README's default training writes. The fixture makes it with that very
  command, on a tiny data set for 1 epoch (``--cfg-options``; same architecture, so the
  checkpoint fits the shipped config), and names it like the 12-epoch run's last checkpoint.
* A block that cannot run here is marked right before its fence with
  ``<!-- doc-test: skip (reason) -->``; skipped blocks are counted and reported. Blocks that
  read ``../shared/data`` are skipped where it is absent, unless ``MDN_REQUIRE_SHARED=1``.
* ```bash blocks (and inline code that calls a tools/ script): every ``tools/...`` script and
  ``configs/...py`` path exists, and every ``--flag`` given to a tools/ Python script appears
  in that script's ``--help`` (each script's ``--help`` runs once, all in one process).
"""
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / 'shared'
DOCS = [REPO / 'README.md'] + sorted((REPO / 'docs').glob('*.md'))
SKIP_MARK = re.compile(r'<!--\s*doc-test:\s*skip\s*\((?P<reason>[^)]+)\)\s*-->')
FENCE = re.compile(r'^```(?P<lang>[\w+-]*)\s*$')
MAX_SKIPS = 3  # skips must stay rare: each one is a block nobody checks
PYTHON_TIMEOUT_S = 300
# The README's default training, on a tiny data set: the architecture is the shipped one.
TRAIN_CONFIG = 'configs/micro_dualnet/mdn_synthetic.py'
TRAIN_OPTIONS = [
    'train_cfg.max_epochs=1', 'train_dataloader.dataset.num_per_class=2',
    'val_dataloader.dataset.num_per_class=1', 'test_dataloader.dataset.num_per_class=1',
    'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
    'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']
DOC_CHECKPOINT = 'work_dirs/mdn_synthetic/epoch_12.pth'  # the 12-epoch default's last one


@dataclass
class Block:
    doc: Path
    line: int  # 1-based line of the first code line (after the fence)
    lang: str
    text: str
    skip: Optional[str] = None

    @property
    def where(self) -> str:
        return f'{self.doc.relative_to(REPO)}:{self.line}'


def parse_blocks(doc: Path) -> List[Block]:
    """Fenced code blocks of a markdown file, with the skip marker right before each."""
    lines = doc.read_text(encoding='utf-8').splitlines()
    blocks, i = [], 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), '')
        mark = SKIP_MARK.search(before)
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith('```')), None)
        assert end is not None, f'{doc}:{i + 1}: unclosed code fence'
        blocks.append(Block(doc, i + 2, match['lang'].lower(), '\n'.join(lines[i + 1:end]),
                            mark['reason'].strip() if mark else None))
        i = end + 1
    return blocks


ALL_BLOCKS = {doc: parse_blocks(doc) for doc in DOCS}
PYTHON_DOCS = [doc for doc, blocks in ALL_BLOCKS.items()
               if any(b.lang in ('python', 'py') for b in blocks)]


def test_code_fences_are_labelled_and_skips_are_rare():
    """Every block says its language (or is plain text); skips give a reason and stay rare."""
    skips = []
    for doc, blocks in ALL_BLOCKS.items():
        for block in blocks:
            assert block.lang in ('', 'python', 'py', 'bash', 'sh', 'text', 'console'), \
                f'{block.where}: unknown code block language {block.lang!r}'
            if block.lang == '' and re.search(r'^\s*(import |from \S+ import )', block.text,
                                              re.M):
                pytest.fail(f'{block.where}: Python code in an unlabelled block: mark it '
                            '```python so the doc test runs it')
            if block.skip:
                skips.append(f'{block.where} ({block.skip})')
    if skips:
        warnings.warn(f'doc-test: {len(skips)} block(s) marked skip: ' + '; '.join(skips))
    assert len(skips) <= MAX_SKIPS, skips


# --------------------------------------------------------------------------- python blocks
RUNNER = r'''
import json, sys, time, traceback
sys.path.insert(0, '')  # like an interactive session in the repo root
import torch
torch.set_num_threads(1)
blocks = json.load(open(sys.argv[1]))
scope = {'__name__': '__main__'}
for block in blocks:
    code = compile('\n' * (block['line'] - 1) + block['text'], block['doc'], 'exec')
    start = time.time()
    try:
        exec(code, scope)
    except BaseException:
        traceback.print_exc()
        print(f'doc-test: FAILED block at {block["doc"]}:{block["line"]}', flush=True)
        sys.exit(1)
    print(f'doc-test: ran block at {block["doc"]}:{block["line"]} in {time.time() - start:.1f} s',
          flush=True)
'''


def shared_available() -> bool:
    if (SHARED / 'data').is_dir():
        return True
    if os.environ.get('MDN_REQUIRE_SHARED') == '1':
        pytest.fail(f'MDN_REQUIRE_SHARED=1 but {SHARED / "data"} is missing')
    return False


def subprocess_env() -> Dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', TQDM_DISABLE='1',
               PYTHONUNBUFFERED='1')
    env.pop('PYTHONPATH', None)
    return env


@pytest.fixture(scope='module')
def doc_checkout(tmp_path_factory) -> Path:
    """A scratch repo root: the docs' relative paths resolve, their outputs stay out of the
    real tree. ``work_dirs/mdn_synthetic/`` is made by the README's training command."""
    start_help_run()  # the --help checks of the bash commands run meanwhile
    base = tmp_path_factory.mktemp('docs')
    root = base / 'main'
    root.mkdir()
    for name in ('mdn', 'configs', 'tools', 'tests', 'data'):
        if (REPO / name).exists():
            (root / name).symlink_to((REPO / name).resolve(), target_is_directory=True)
    if (SHARED / 'data').is_dir():
        (base / 'shared').mkdir()
        (base / 'shared' / 'data').symlink_to((SHARED / 'data').resolve(),
                                              target_is_directory=True)
    cmd = [sys.executable, 'tools/train.py', TRAIN_CONFIG, '--cfg-options', *TRAIN_OPTIONS]
    start = time.time()
    proc = subprocess.run(cmd, cwd=root, env=subprocess_env(), capture_output=True, text=True,
                          timeout=PYTHON_TIMEOUT_S)
    assert proc.returncode == 0, f'{shlex.join(cmd)} failed:\n{proc.stderr[-3000:]}'
    print(f'doc-test: trained the README default (tiny) in {time.time() - start:.1f} s')
    work_dir = root / 'work_dirs' / 'mdn_synthetic'
    shutil.copy(work_dir / 'epoch_1.pth', root / DOC_CHECKPOINT)
    return root


@pytest.mark.parametrize('doc', PYTHON_DOCS, ids=lambda d: str(d.relative_to(REPO)))
def test_python_blocks_run_in_order(doc, doc_checkout):
    blocks = [b for b in ALL_BLOCKS[doc] if b.lang in ('python', 'py')]
    has_shared = shared_available()
    run, skipped = [], []
    for block in blocks:
        if block.skip:
            skipped.append(f'{block.where} ({block.skip})')
        elif '../shared/data' in block.text and not has_shared:
            skipped.append(f'{block.where} (../shared/data not here)')
        else:
            run.append(dict(doc=str(doc.relative_to(REPO)), line=block.line, text=block.text))
    if skipped:
        warnings.warn(f'doc-test: {doc.name}: skipped {len(skipped)} of {len(blocks)} python '
                      'block(s): ' + '; '.join(skipped))
    if not run:
        pytest.skip(f'{doc.name}: every python block is skipped')
    spec = doc_checkout / f'.doc_blocks_{doc.stem}.json'
    spec.write_text(json.dumps(run))
    proc = subprocess.run([sys.executable, '-c', RUNNER, str(spec)], cwd=doc_checkout,
                          env=subprocess_env(), capture_output=True, text=True,
                          timeout=PYTHON_TIMEOUT_S)
    print(proc.stdout)  # per-block times (pytest -s)
    ran = proc.stdout.count('doc-test: ran block')
    assert proc.returncode == 0, (
        f'{doc.name}: {ran} of {len(run)} python blocks ran, then:\n'
        f'{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}')
    assert ran == len(run), proc.stdout


# --------------------------------------------------------------------------- bash commands
TOOL = re.compile(r'(?:^|(?<=[\s/=]))(tools/[\w./-]+\.(?:py|sh))')
CONFIG = re.compile(r'(?:^|(?<=[\s/=]))(configs/[\w./*-]+\.py)')
FLAG = re.compile(r'^\[?(--[A-Za-z][\w-]*)')
INLINE = re.compile(r'`([^`\n]*tools/[^`\n]*)`')
# scripts that parse_known_args() and hand the other flags on (not in their own --help)
FORWARDS = {'tools/data/ma52_converter.py': 'tools/extract_pose.py'}


def logical_commands(text: str, first_line: int = 1) -> List[tuple]:
    """(line, command) of a bash block: continuations joined, comments dropped, ``&&``,
    ``||``, ``;`` and ``|`` split."""
    lines, current, start = [], '', None
    for number, raw in enumerate(text.splitlines(), first_line):
        line = raw.rstrip()
        if not current and line.lstrip().startswith('#'):
            continue
        start = number if not current else start
        if line.endswith('\\'):
            current += line[:-1] + ' '
            continue
        lines.append((start, current + line))
        current = ''
    if current:
        lines.append((start, current))
    out = []
    for number, line in lines:
        line = re.sub(r'(^|\s)#.*$', '', line)  # trailing comment
        out += [(number, part.strip()) for part in re.split(r'&&|\|\||;|\|', line)
                if part.strip()]
    return out


def shell_words(command: str) -> List[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def doc_commands() -> List[tuple]:
    """(where, command) of every bash block line and inline code calling a tools/ script."""
    found = []
    for doc, blocks in ALL_BLOCKS.items():
        for block in blocks:
            if block.lang in ('bash', 'sh', 'console'):
                found += [(f'{block.doc.relative_to(REPO)}:{line}', cmd)
                          for line, cmd in logical_commands(block.text, block.line)]
        text = doc.read_text(encoding='utf-8')
        outside = re.sub(r'^```.*?^```', '', text, flags=re.S | re.M)
        for match in INLINE.finditer(outside):
            line = text[:text.find(match.group(0))].count('\n') + 1
            found.append((f'{doc.relative_to(REPO)}:{line}', match.group(1)))
    return found


def script_flags(words: List[str]) -> Dict[str, set]:
    """{tools/... script: flags given to it} for one command."""
    flags: Dict[str, set] = {}
    script = None
    for word in words:
        tool = TOOL.search(word)
        if tool and word.endswith(('.py', '.sh')):
            script = tool.group(1)
            flags.setdefault(script, set())
        elif script and FLAG.match(word):
            flags[script].add(FLAG.match(word).group(1).split('=')[0])
    return flags


HELP_RUNNER = r'''
import contextlib, io, json, runpy, sys
sys.path.insert(0, '')
out = {}
for script in sys.argv[1:]:
    buffer = io.StringIO()
    sys.argv = [script, '--help']
    try:
        with contextlib.redirect_stdout(buffer):
            runpy.run_path(script, run_name='__main__')
    except SystemExit:
        pass
    except BaseException as err:
        buffer.write(f'\n<<error: {err!r}>>')
    out[script] = buffer.getvalue()
print('\n@@HELP@@' + json.dumps(out))
'''


_HELP_PROC: List[tuple] = []


def start_help_run() -> tuple:
    """One process runs every doc-named tools/ script with ``--help`` (imports are shared);
    started early so that it overlaps the training of the Python-block fixture."""
    if not _HELP_PROC:
        scripts = {s for _, cmd in doc_commands() for s in script_flags(shell_words(cmd))
                   if s.endswith('.py') and (REPO / s).is_file()}
        scripts |= {FORWARDS[s] for s in scripts if s in FORWARDS}
        out, err = tempfile.TemporaryFile('w+'), tempfile.TemporaryFile('w+')  # no pipe to fill
        proc = subprocess.Popen([sys.executable, '-c', HELP_RUNNER, *sorted(scripts)], cwd=REPO,
                                env=subprocess_env(), stdout=out, stderr=err, text=True)
        _HELP_PROC.append((proc, out, err))
    return _HELP_PROC[0]


@pytest.fixture(scope='module')
def help_texts() -> Dict[str, str]:
    proc, out, err = start_help_run()
    proc.wait(timeout=300)
    out.seek(0)
    err.seek(0)
    stdout, stderr = out.read(), err.read()
    assert '@@HELP@@' in stdout, stderr[-3000:]
    texts = json.loads(stdout.split('@@HELP@@', 1)[1])
    for script, text in texts.items():
        if '--help' not in text:  # the shared process did not suit it: run it on its own
            alone = subprocess.run([sys.executable, script, '--help'], cwd=REPO,
                                   env=subprocess_env(), capture_output=True, text=True,
                                   timeout=120)
            texts[script] = alone.stdout + alone.stderr
    return texts


def test_bash_commands_name_existing_scripts_and_configs():
    missing = []
    for where, cmd in doc_commands():
        for word in shell_words(cmd):
            for path in TOOL.findall(word) + CONFIG.findall(word):
                if not glob.glob(str(REPO / path)):
                    missing.append(f'{where}: {path}')
            if word.startswith('../shared/data/') and (SHARED / 'data').is_dir():
                if not glob.glob(str(REPO / word)):
                    missing.append(f'{where}: {word}')
    assert not missing, 'paths in the docs that do not exist:\n' + '\n'.join(missing)


def test_bash_flags_exist_in_the_scripts_help(help_texts):
    unknown = []
    for where, cmd in doc_commands():
        for script, flags in script_flags(shell_words(cmd)).items():
            if script not in help_texts:
                continue  # shell scripts pass their flags on; missing ones: the test above
            helped = help_texts[script] + help_texts.get(FORWARDS.get(script, ''), '')
            assert 'usage:' in helped, f'{script} --help failed:\n{helped[-2000:]}'
            for flag in sorted(flags):
                if not re.search(rf'(?<![\w-]){re.escape(flag)}(?![\w-])', helped):
                    unknown.append(f'{where}: {script} {flag}')
    assert not unknown, ('flags used in the docs that the scripts do not take:\n'
                         + '\n'.join(unknown))


def test_parser_reads_skip_marks_continuations_and_flags(tmp_path):
    doc = tmp_path / 'doc.md'
    doc.write_text('text\n\n<!-- doc-test: skip (needs CUDA) -->\n```python\nx = 1\n```\n'
                   '```bash\n# comment --nope\n.venv/bin/python tools/train.py C \\\n'
                   '    --work-dir W && python tools/test.py C K [--dump D]  # --not-this\n```\n')
    python, bash = parse_blocks(doc)
    assert (python.lang, python.line, python.text, python.skip) == ('python', 5, 'x = 1',
                                                                    'needs CUDA')
    commands = logical_commands(bash.text, bash.line)
    assert [line for line, _ in commands] == [9, 9]
    assert script_flags(shell_words(commands[0][1])) == {'tools/train.py': {'--work-dir'}}
    assert script_flags(shell_words(commands[1][1])) == {'tools/test.py': {'--dump'}}
