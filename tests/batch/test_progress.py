"""Progress of a long batch job: live on a terminal, one summary line either way, nothing on stdout."""

import io

from batch.progress import Progress


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_each_step_rewrites_one_line_with_done_of_total_and_rows_per_second():
    out = Tty()
    with Progress("backfill", total=3, unit="partitions", stream=out) as p:
        p.advance(rows=1000, what="2026-11-01")
        p.advance(rows=1000)
        p.summary("rebuilt 3 partitions")
    text = out.getvalue()
    assert "\r\x1b[2Kweir backfill: 1/3 partitions, 1,000 rows (" in text
    assert "2/3 partitions, 2,000 rows" in text
    assert "rows/s" in text
    assert "2026-11-01" in text
    assert text.endswith(" s)\n")
    assert "weir backfill: rebuilt 3 partitions (" in text
    assert text.count("\n") == 1


def test_off_a_terminal_only_the_summary_line_is_written():
    out = io.StringIO()
    with Progress("compact", total=2, unit="partitions", stream=out) as p:
        p.advance()
        p.advance()
        p.summary("nothing to compact")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("weir compact: nothing to compact (")


def test_a_job_that_fails_writes_no_summary():
    out = io.StringIO()
    try:
        with Progress("sweep", total=1, unit="tables", stream=out) as p:
            p.summary("would be wrong")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert out.getvalue() == ""
