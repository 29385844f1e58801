"""Executes notebooks headless with the Deno kernel and writes them, outputs included, to an output folder.

Usage: python execute_notebooks.py --out-dir DIR [--timeout SECONDS] NOTEBOOK...

Run by tasks/lib/notebooks/jupyter.ts with the project's pinned nbclient (docker/python/requirements.txt) and
JUPYTER_PATH pointing at the project's kernelspec. The notebooks run concurrently, each in its own kernel, in its own
folder (so `../deno.json` resolves). Prints one line per notebook; exits 1 naming the failing cell if one raises.
"""

import argparse
import asyncio
import sys
import time
from pathlib import Path
from queue import Empty

import nbformat
from jupyter_core.utils import ensure_async
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellExecutionError
from traitlets import Float


class DenoNotebookClient(NotebookClient):
    """nbclient, waiting a moment after a cell's `idle` status for outputs that arrive just after it.

    Deno's kernel (2.9) sometimes publishes `status: idle` a fraction of a millisecond before the cell's last
    display_data or execute_result; plain nbclient stops listening at `idle` and drops them. This keeps collecting the
    cell's messages until the kernel has been quiet for `output_grace_seconds`. Overrides a private method of
    nbclient 0.11 (pinned).
    """

    output_grace_seconds = Float(0.2, help="Quiet time after idle before a cell counts as complete.").tag(config=True)

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        assert self.kc is not None
        idle = False
        while True:
            try:
                timeout = self.output_grace_seconds if idle else None
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=timeout))
            except Empty:
                return
            if msg["parent_header"].get("msg_id") != parent_msg_id:
                continue
            try:
                self.process_message(msg, cell, cell_index)
            except CellExecutionComplete:
                idle = True


async def execute(path: Path, out_dir: Path, timeout: int) -> str | None:
    """Runs one notebook; returns None, or a one-line description of the failure."""
    notebook = nbformat.read(path, as_version=4)
    client = DenoNotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="deno",
        resources={"metadata": {"path": str(path.parent)}},
    )
    started = time.monotonic()
    failure = None
    try:
        await client.async_execute()
    except CellExecutionError as error:
        failure = f"{path.name}: a cell raised {error.ename}: {error.evalue}"
    except Exception as error:  # a kernel that dies or never starts: say which notebook, keep going
        failure = f"{path.name}: {type(error).__name__}: {error}"
    nbformat.write(notebook, out_dir / path.name)
    if failure is None:
        print(f"executed {path.name} in {time.monotonic() - started:.1f} s", flush=True)
    return failure


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", required=True, type=Path)
    parser.add_argument("--timeout", type=int, default=120, help="seconds a cell may run")
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    failures = await asyncio.gather(*(execute(path.resolve(), args.out_dir, args.timeout) for path in args.notebooks))
    for failure in failures:
        if failure is not None:
            print(failure, file=sys.stderr, flush=True)
    return 1 if any(failures) else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
