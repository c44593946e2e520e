"""Result store on a directory: local disk (embedded backend) or a shared volume (distributed backend).

Layout: ``<jobs_dir>/<job_id>/input`` (deleted once the job ends) and ``<jobs_dir>/<job_id>/results/<name>``.
For the distributed backend every machine (API and workers) mounts the same volume at the same
``SOUNDCUE_DATA_DIR`` (NFS, CephFS, EFS...): uploads are staged under ``data_dir/staging`` and renamed into
place, so the volume must offer a POSIX ``rename`` within itself, as those file systems do.
"""

from __future__ import annotations

import shutil
from pathlib import Path


class VolumeResults:
    """:class:`app.backends.base.ResultStore` on a directory.

    Args:
        jobs_dir: the folder holding one sub-folder per job (``Settings.jobs_dir``).
    """

    def __init__(self, jobs_dir: Path) -> None:
        self.jobs_dir = jobs_dir

    def job_dir(self, job_id: str) -> Path:
        return self.jobs_dir / job_id

    def input_path(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "input"

    def result_path(self, job_id: str, name: str) -> Path:
        return self.job_dir(job_id) / "results" / name

    def adopt_input(self, job_id: str, staged: Path) -> None:
        target = self.job_dir(job_id)
        target.mkdir(parents=True)
        staged.rename(target / "input")

    def remove(self, job_id: str) -> None:
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def remove_work(self, job_id: str) -> None:
        shutil.rmtree(self.job_dir(job_id) / "results", ignore_errors=True)
        self.input_path(job_id).unlink(missing_ok=True)
