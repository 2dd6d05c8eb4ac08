"""Backups from Python: a copy with its manifest, verified, restored; damage, keys and stores in use."""

import os
import stat

import pytest

import convstore
from convstore.errors import BusyError, ConflictError, CorruptionError, InvalidArgumentError, NotFoundError

KEY = "00" * 31 + "01"
WRONG = "00" * 31 + "02"


def _filled(path, n=20):
    s = convstore.Store(path)
    c = s.create_conversation("ana@example.com", "BGP")
    for i in range(n):
        s.add_message(c["id"], "user", f"m{i}", cost_usd="0.001")
    return s, c


def test_backup_verify_restore(tmp_path):
    s, c = _filled(str(tmp_path / "live.db"))
    phases = []
    report = s.backup(tmp_path / "b.db", progress=lambda phase, done, total: phases.append((phase, done, total)))
    assert report["path"] == str(tmp_path / "b.db")
    assert report["manifest_path"] == str(tmp_path / "b.db.manifest.json")
    m = report["manifest"]
    assert m["row_counts"]["messages"] == 20 and m["cost_nanousd"] == 20_000_000
    assert m["journal_seq"] == s.journal_status()["last_seq"] and not m["encrypted"]
    assert stat.S_IMODE(os.stat(tmp_path / "b.db").st_mode) == 0o600
    assert phases and phases[-1][1] == phases[-1][2]
    check = convstore.verify_backup(tmp_path / "b.db")
    assert check["ok"] and check["problems"] == []
    s.add_message(c["id"], "user", "after the backup")
    with pytest.raises(BusyError):
        convstore.restore_backup(tmp_path / "b.db", tmp_path / "live.db")
    s.close()
    restored = convstore.restore_backup(tmp_path / "b.db", tmp_path / "live.db")
    assert restored["manifest"]["sha256"] == m["sha256"]
    with convstore.Store(tmp_path / "live.db") as again:
        assert again.get_conversation_info(c["id"])["message_count"] == 20
        assert again.read_journal(m["journal_seq"])[0]["kind"] == "restored"
    with pytest.raises(ConflictError):
        with convstore.Store(tmp_path / "other.db") as other:
            other.backup(tmp_path / "b.db")


def test_damage_is_reported_and_never_restored(tmp_path):
    s, _ = _filled(str(tmp_path / "live.db"))
    s.backup(tmp_path / "b.db")
    s.close()
    data = bytearray((tmp_path / "b.db").read_bytes())
    data[len(data) // 2] ^= 1
    (tmp_path / "b.db").write_bytes(bytes(data))
    check = convstore.verify_backup(tmp_path / "b.db")
    assert not check["ok"] and "damaged" in check["problems"][0]
    with pytest.raises(CorruptionError):
        convstore.restore_backup(tmp_path / "b.db", tmp_path / "new.db")
    assert not (tmp_path / "new.db").exists()
    with pytest.raises(NotFoundError):
        convstore.verify_backup(tmp_path / "missing.db")


def test_encrypted_backups_need_their_key(tmp_path):
    s, _ = _filled(str(tmp_path / "live.db"), 5)
    m = s.backup(tmp_path / "sealed.db", encryption_key=KEY)["manifest"]
    s.close()
    assert m["encrypted"] and (tmp_path / "sealed.db").read_bytes()[:8] == b"CSTRENC1"
    with pytest.raises(InvalidArgumentError):
        convstore.verify_backup(tmp_path / "sealed.db")
    with pytest.raises(InvalidArgumentError, match="wrong encryption key"):
        convstore.verify_backup(tmp_path / "sealed.db", encryption_key=WRONG)
    assert convstore.verify_backup(tmp_path / "sealed.db", encryption_key=KEY)["ok"]
    convstore.restore_backup(tmp_path / "sealed.db", tmp_path / "new.db", encryption_key=KEY)
    with convstore.Store(tmp_path / "new.db") as n:
        assert n.verify_rollups()["differences"] == 0


@pytest.mark.parametrize("kwargs", [dict(encryption_key="abc"), dict(encryption_key=5), dict(progress=3)])
def test_bad_backup_requests(tmp_path, kwargs):
    with convstore.Store(tmp_path / "live.db") as s:
        with pytest.raises(InvalidArgumentError):
            s.backup(tmp_path / "x.db", **kwargs)
        assert not (tmp_path / "x.db").exists()
        with pytest.raises(InvalidArgumentError):
            s.backup("")
