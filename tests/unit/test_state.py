"""Per-chat state survives a reload; webhook retries are recognised."""

from agent.state import DEDUPE_WINDOW_S, ChatState, Preview, Release, StateStore


def test_round_trip(tmp_path):
    store = StateStore(tmp_path)
    state = store.load_chat(42)
    state.claude_session = "abc"
    state.pending = Preview(
        "p1", "preview/p1", "c0ffee", "http://x/previews/p1/", "bigger", "make it bigger", 1.0
    )
    store.save_chat(state)
    again = StateStore(tmp_path).load_chat(42)
    assert again.claude_session == "abc" and again.pending == state.pending
    assert not list((tmp_path / "chats" / "42").glob("*.tmp"))


def test_dedupe_by_update_id_with_a_window():
    state = ChatState(chat_id=1)
    assert not state.seen(10, now=1000.0)
    assert state.seen(10, now=1001.0)
    assert not state.seen(9, now=1002.0)  # out of order is fine: ids are a set, not a watermark
    assert not state.seen(10, now=1000.0 + DEDUPE_WINDOW_S + 1)  # forgotten after the window


def test_releases(tmp_path):
    store = StateStore(tmp_path)
    assert store.releases() == []
    store.save_releases([Release("b1", "c1", 1.0, "first")])
    assert store.releases()[0].build_id == "b1"
