"""Pure parts of the `weir stream` process."""

from streaming.runner import failure_summary


def test_a_data_quality_stop_is_summarised_by_its_own_message():
    wrapped = (
        "[FOREACH_BATCH_USER_FUNCTION_ERROR] An error occurred in the user provided function.\n"
        "Traceback (most recent call last):\n  File ...\n"
        "streaming.exceptions.DataQualityStop: data-quality rule 'no-poison' (severity fail) broke on event e1\n"
        "  at org.apache.spark..."
    )
    assert failure_summary(wrapped) == "data-quality rule 'no-poison' (severity fail) broke on event e1"


def test_other_errors_are_kept_whole():
    assert failure_summary(RuntimeError("kafka is gone")) == "kafka is gone"
