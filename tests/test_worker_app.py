"""The worker's Faust app is made from its settings when the worker starts, not at import."""

import subprocess
import sys

from support.deployment import ROOT

IMPORT_ALONE = r"""
import sys

import faust, aiokafka, asyncpg  # the libraries' own imports may read their files: not ours
from faust.transport.consumer import Consumer
import minicrm.settings

def unread(*args, **kwargs):
    raise AssertionError("settings read at import")

minicrm.settings.load_settings = unread
seek = Consumer.perform_seek
done = []
sys.addaudithook(lambda event, args: done.append((event, args[:2])) if event in {
    "open", "os.mkdir", "os.makedirs", "socket.connect", "socket.bind", "subprocess.Popen"} else None)

import minicrm.streams.app

sources = (".py", ".pyc", ".so")
work = [(event, args) for event, args in done if not (event == "open" and str(args[0]).endswith(sources))]
assert not work, work
assert Consumer.perform_seek is seek, "Faust patched at import"
assert "app" not in vars(minicrm.streams.app), "app made at import"
print("nothing done")
"""


def test_importing_the_worker_app_reads_no_settings_and_touches_nothing():
    result = subprocess.run([sys.executable, "-c", IMPORT_ALONE], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "nothing done"


def test_the_app_is_made_from_the_settings_it_is_given(tmp_path):
    from minicrm import topics
    from minicrm.settings import Settings
    from minicrm.streams.app import WorkerApp

    app = WorkerApp(Settings(topic_prefix="elsewhere", worker_roles=("live",), worker_datadir=str(tmp_path / "faust")))
    assert app.conf.id == "elsewhere-live"
    assert app.topic_of(topics.ORDERS).get_topic_name() == "elsewhere.orders"
    assert not (tmp_path / "faust").exists()  # made when the worker starts


def test_a_full_poll_never_overfills_an_agents_buffer(tmp_path):
    """Faust pauses a partition at its first record past four fifths of the agent's buffer; a poll's
    records past that, one per partition of the topic, must fit, or the worker's one loop waits."""
    from mode.utils.queues import FlowControlQueue

    from minicrm.settings import Settings
    from minicrm.streams.app import WorkerApp

    for partitions in (1, 4, 12, 48):
        conf = WorkerApp(Settings(partitions=partitions, worker_datadir=str(tmp_path))).conf  # with the fan-out
        paused_at = int(conf.stream_buffer_maxsize / FlowControlQueue.pressure_high_ratio)
        room = conf.stream_buffer_maxsize - paused_at
        assert room >= partitions * conf.broker_max_poll_records
        assert conf.stream_buffer_maxsize <= 250  # batches of up to a megabyte each: memory stays bounded
