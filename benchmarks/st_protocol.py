"""A Streamlit client without a browser: the app's own websocket protocol.

One `Session` is one browser tab, as the Streamlit 1.67 frontend drives it:

- it GETs the page (`/`, `/_stcore/health`, `/_stcore/host-config`), then
  opens `ws://HOST/_stcore/stream` with the subprotocol `streamlit` (no
  permessage-deflate: the server's `server.enableWebsocketCompression` is off
  by default, so Chromium gets none either);
- every rerun is a `BackMsg.rerun_script` whose `ClientState` carries the
  URL's query string, the page's script hash, the fragment id (when the
  changed widget lives in an `st.fragment`), the hashes of the messages it
  has cached and the value of *every* widget on the page (as the browser's
  widget manager does, not only the one that changed);
- it reads `ForwardMsg`s until the run's `script_finished`, resolves
  `ref_hash` messages from its message cache, applies `delta`s by their
  `delta_path` and, at the end of the run, drops the elements the run did not
  send again (for a fragment run: only those of that fragment), as the
  frontend clears stale elements.

`Session.elements()` gives what the page shows: `Element` protos in page
order. Helpers `charts`, `problems` and `headings` read them. It uses
`websocket-client` (blocking sockets: under Locust, gevent makes them
cooperative).
"""

import json
import time
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlparse

import websocket
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

MAX_MESSAGE_AGE = 2  # script runs a cached message is kept unused (global.maxCachedMessageAge)
FINISHED = {
    ForwardMsg.FINISHED_SUCCESSFULLY: "full",
    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY: "fragment",
}


class ProtocolError(Exception):
    """The server did not answer as a Streamlit 1.67 server does (or too late)."""


@dataclass
class Widget:
    """A widget as the browser's widget manager holds it.

    `kind` is the `Element` field (`text_area`, `slider`, ...); `value_field` the
    `WidgetState` field its value goes in; `value` that value; `fragment_id`
    the fragment that drew it ("" outside fragments).
    """

    id: str
    kind: str
    value_field: str
    value: object
    fragment_id: str = ""
    proto: object = None


# Element field -> WidgetState field, for the widgets whose value the client
# keeps (the others are sent as the browser sends them: not at all until used).
VALUE_FIELDS = {
    "text_area": "string_value",
    "text_input": "string_value",
    "slider": "double_array_value",
    "button_group": "string_array_value",
    "checkbox": "bool_value",
}


def initial_value(kind, proto, known):
    """The widget's value after this run: the server's when it set one
    (`set_value`), else what the client had, else the widget's default."""
    if proto.set_value or known is None:
        if kind in ("text_area", "text_input"):
            return proto.value if proto.set_value else proto.default
        if kind == "slider":
            return list(proto.value if proto.set_value else proto.default)
        if kind == "button_group":
            if proto.set_value:
                return list(proto.raw_values)
            return [proto.options[i].content for i in proto.default]
        if kind == "checkbox":
            return proto.value if proto.set_value else proto.default
    return known


@dataclass
class Run:
    """What one script run sent: its kind ("full" or "fragment"), seconds from
    the rerun request to `script_finished`, and the bytes received."""

    kind: str
    seconds: float
    received: int = 0
    messages: list = field(default_factory=list)


class Session:
    """One browser tab on the app at `base_url` (http://host:port).

    `timeout` (s) bounds every wait for the server. Use as a context manager,
    or call `close()`.
    """

    def __init__(self, base_url, timeout=30.0):
        self.base_url, self.timeout = base_url.rstrip("/"), timeout
        self.query_string, self.page_hash, self.pages = "", "", {}
        self.widgets = {}  # id -> Widget
        self.tree = {}  # delta_path tuple -> (Element or Block proto, fragment_id)
        self.cache = {}  # message hash -> [ForwardMsg, age in runs]
        self.socket = None

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()

    # --- connecting --------------------------------------------------------

    def get(self, path):
        """GET `path` as the browser does when it opens the page; returns the body."""
        with urllib.request.urlopen(self.base_url + path, timeout=self.timeout) as reply:
            return reply.read()

    def open(self, query=None):
        """Load the page (with `query`, a dict, as its URL's query) and run the app once."""
        self.get("/")
        self.get("/_stcore/health")
        self.get("/_stcore/host-config")
        host = urlparse(self.base_url).netloc
        self.socket = websocket.create_connection(
            f"ws://{host}/_stcore/stream", subprotocols=["streamlit"],
            origin=self.base_url, timeout=self.timeout,
        )
        self.query_string = urlencode(query or {}, doseq=True)
        return self.rerun()

    def close(self):
        if self.socket is not None:
            self.socket.close()
            self.socket = None

    # --- the user's actions --------------------------------------------------

    def widget(self, key):
        """The widget drawn with `key=key` (Streamlit puts the key at the end of the id)."""
        for widget in self.widgets.values():
            if widget.id.endswith(f"-{key}"):
                return widget
        raise ProtocolError(f"no widget with key {key!r} on the page; "
                            f"widgets: {sorted(w.id for w in self.widgets.values())}")

    def set_widget(self, key, value):
        """Change the widget `key` to `value`, as a user does; rerun (its fragment
        only, if it lives in one). Returns the `Run`."""
        widget = self.widget(key)
        widget.value = value
        return self.rerun(fragment_id=widget.fragment_id)

    def switch_page(self, name):
        """Click `name` in the sidebar navigation. Returns the `Run`."""
        if name not in self.pages:
            raise ProtocolError(f"no page {name!r}; pages: {sorted(self.pages)}")
        self.page_hash = self.pages[name]
        self.query_string = ""  # Streamlit drops the query string between pages
        return self.rerun()

    # --- one script run ---------------------------------------------------------

    def client_state(self, fragment_id):
        back = BackMsg()
        state = back.rerun_script
        state.query_string = self.query_string
        state.page_script_hash = self.page_hash
        state.fragment_id = fragment_id
        state.cached_message_hashes.extend(self.cache)
        state.context_info.timezone = "UTC"
        state.context_info.locale = "en-US"
        state.context_info.url = f"{self.base_url}/?{self.query_string}"
        for widget in self.widgets.values():
            entry = state.widget_states.widgets.add()
            entry.id = widget.id
            target = getattr(entry, widget.value_field)
            if widget.value_field.endswith("_array_value"):
                target.data.extend(widget.value)
            else:
                setattr(entry, widget.value_field, widget.value)
        return back

    def rerun(self, fragment_id=""):
        """Send a rerun with the current widget states; read until the run
        finishes. Returns the `Run`.

        Raises:
            ProtocolError: a compile error, a time-out, or an unexpected message.
        """
        start = time.perf_counter()
        self.socket.send_binary(self.client_state(fragment_id).SerializeToString())
        sent, run = set(), None
        deadline = time.monotonic() + self.timeout
        while True:
            self.socket.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                data = self.socket.recv()
            except websocket.WebSocketTimeoutException:
                raise ProtocolError(f"no script_finished within {self.timeout:g} s") from None
            if not isinstance(data, bytes):
                raise ProtocolError(f"a text frame from the server: {data[:200]!r}")
            message = self.resolve(ForwardMsg.FromString(data))
            kind = message.WhichOneof("type")
            if run is not None:
                run.received += len(data)
            if kind == "new_session":
                run = Run("full", 0.0, len(data))
                self.page_hash = message.new_session.page_script_hash
                sent = set()
            elif kind == "navigation":
                self.pages = {p.page_name: p.page_script_hash for p in message.navigation.app_pages}
                self.page_hash = message.navigation.page_script_hash
            elif kind == "page_info_changed":
                self.query_string = message.page_info_changed.query_string
            elif kind == "delta":
                path = tuple(message.metadata.delta_path)
                self.apply(path, message.delta)
                sent.add(path)
            elif kind == "script_finished":
                status = message.script_finished
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    raise ProtocolError("the script did not compile")
                if status in FINISHED:
                    run = run or Run("fragment", 0.0, len(data))
                    run.kind = FINISHED[status]
                    self.finish(sent, run.kind, list(message.metadata.run.fragment_ids))
                    run.seconds = time.perf_counter() - start
                    return run
            if run is not None:
                run.messages.append(kind)

    def resolve(self, message):
        """The cached message a `ref_hash` stands for (with the reference's
        metadata); a cacheable message goes into the cache."""
        if message.WhichOneof("type") == "ref_hash":
            if message.ref_hash not in self.cache:
                raise ProtocolError(f"a reference to {message.ref_hash}, which is not cached")
            entry = self.cache[message.ref_hash]
            entry[1] = 0
            resolved = ForwardMsg()
            resolved.CopyFrom(entry[0])
            resolved.metadata.CopyFrom(message.metadata)
            return resolved
        if message.metadata.cacheable:
            self.cache[message.hash] = [message, 0]
        return message

    def apply(self, path, delta):
        kind = delta.WhichOneof("type")
        if kind == "new_element":
            self.tree[path] = (delta.new_element, delta.fragment_id)
        elif kind == "add_block":
            self.tree[path] = (delta.add_block, delta.fragment_id)

    def finish(self, sent, run_kind, fragment_ids):
        """End of a run: drop the stale elements, age the cache, re-read the widgets."""
        if run_kind == "full":
            self.tree = {p: v for p, v in self.tree.items() if p in sent}
        else:
            self.tree = {p: v for p, v in self.tree.items()
                         if p in sent or v[1] not in fragment_ids}
        for entry in self.cache.values():
            entry[1] += 1
        self.cache = {h: e for h, e in self.cache.items() if e[1] <= MAX_MESSAGE_AGE}
        widgets = {}
        for element, fragment_id in self.elements(with_fragment=True):
            kind = element.WhichOneof("type")
            if kind in VALUE_FIELDS:
                proto = getattr(element, kind)
                known = self.widgets.get(proto.id)
                value = initial_value(kind, proto, known.value if known else None)
                widgets[proto.id] = Widget(proto.id, kind, VALUE_FIELDS[kind], value,
                                           fragment_id, proto)
        self.widgets = widgets

    # --- what the page shows -------------------------------------------------------

    def elements(self, with_fragment=False):
        """The page's `Element`s in page order (blocks left out); with
        `with_fragment`, `(element, fragment_id)` pairs."""
        found = []
        for path in sorted(self.tree):
            proto, fragment_id = self.tree[path]
            if proto.DESCRIPTOR.name == "Element":
                found.append((proto, fragment_id) if with_fragment else proto)
        return found


def charts(elements):
    """The Plotly figures (dicts) among `elements`."""
    return [json.loads(e.plotly_chart.spec) for e in elements
            if e.WhichOneof("type") == "plotly_chart"]


def problems(elements):
    """One line per exception box or `st.error` box among `elements`."""
    lines = []
    for element in elements:
        kind = element.WhichOneof("type")
        if kind == "exception":
            lines.append(f"exception: {element.exception.type}: {element.exception.message[:200]}")
        elif kind == "alert" and element.alert.format == Alert.ERROR:
            lines.append(f"st.error: {element.alert.body[:200]}")
    return lines


def headings(elements):
    """The texts of the headings (`st.title`, `st.header`, ...) among `elements`."""
    return [e.heading.body for e in elements if e.WhichOneof("type") == "heading"]
