"""The media sweep removes the files of deleted projects, on both stores and both ledgers."""

from __future__ import annotations

from framecast.domain.models import Project, new_id
from framecast.ledger.repository import SqlLedger
from framecast.services.ports import MediaStore
from framecast.services.reconciler import MediaSweeper


def _file(store: MediaStore, key: str) -> None:
    path = store.temp_dir() / "f.bin"
    path.write_bytes(key.encode())
    store.put(path, key)


def test_files_of_deleted_projects_go_and_everything_else_stays(ledger: SqlLedger, store: MediaStore) -> None:
    alive = Project(id=new_id("prj"), owner="local", prompt="still here", options={})
    with ledger.transaction() as tx:
        tx.add_project(alive)
    gone = new_id("prj")  # files written for a project whose row was deleted
    for key in (
        f"{alive.id}/ast_1/video.mp4",
        f"{gone}/ast_2/video.mp4",
        f"{gone}/work/chunk-00001.mp4",
        "uploads/ast_3/logo.png",
    ):
        _file(store, key)

    assert MediaSweeper(ledger, store).run_once() == 1
    assert sorted(store.project_prefixes()) == [alive.id]
    assert store.stat(f"{alive.id}/ast_1/video.mp4").size > 0
    assert store.stat("uploads/ast_3/logo.png").size > 0, "uploads are never swept"
    assert MediaSweeper(ledger, store).run_once() == 0


def test_the_sweep_works_through_many_projects_in_batches(ledger: SqlLedger, store: MediaStore) -> None:
    kept = []
    with ledger.transaction() as tx:
        for _ in range(3):
            project = Project(id=new_id("prj"), owner="local", prompt="p", options={})
            tx.add_project(project)
            kept.append(project.id)
    orphans = [new_id("prj") for _ in range(7)]
    for pid in kept + orphans:
        _file(store, f"{pid}/ast/poster.jpg")
    sweeper = MediaSweeper(ledger, store)
    sweeper.BATCH = 4  # several rounds of look-ups
    assert sweeper.run_once() == 7
    assert sorted(store.project_prefixes()) == sorted(kept)
