"""Download tests against a local HTTP server on 127.0.0.1 (never the real internet).

The server serves small IDX files written with ``write_idx``, under URL prefixes that
behave differently: ``/good/`` serves them, ``/drop/`` promises the full length but closes
the connection halfway, ``/hang/`` never answers, anything else is a 404. Tests pass the
MD5 sums of the files they serve through ``checksums=``.
"""

import gzip
import hashlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from convnp.data import (
    DatasetNotFoundError,
    DownloadError,
    download_dataset,
    download_file,
    load_fashion_mnist,
    load_mnist,
    write_idx,
)

TIMEOUT = 2.0
NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte"]


@pytest.fixture(autouse=True)
def isolated_places(tmp_path, monkeypatch):
    """No CONVNP_DATA, an empty HOME, and no proxy between us and 127.0.0.1."""
    monkeypatch.delenv("CONVNP_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")


@pytest.fixture
def dataset(tmp_path):
    """The four .gz files (40 train, 10 test images): {name.gz: bytes}, arrays, MD5 sums."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "served"
    folder.mkdir()
    arrays = {}
    for split, n in (("train", 40), ("test", 10)):
        prefix = "train" if split == "train" else "t10k"
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
        arrays[split] = (images, labels)
    files = {f"{name}.gz": (folder / f"{name}.gz").read_bytes() for name in NAMES}
    sums = {name: hashlib.md5(data).hexdigest() for name, data in files.items()}
    return files, arrays, sums


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        mode, _, name = self.path.strip("/").partition("/")
        body = self.server.files.get(name)
        if mode not in ("good", "drop", "hang") or body is None:
            self.send_error(404)
            return
        if mode == "hang":
            self.server.release.wait(10)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "drop":
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
        else:
            self.wfile.write(body)

    def log_message(self, *args):
        """Keep the test output quiet."""


@pytest.fixture
def server(dataset):
    """A local server for ``dataset``; yields its base URL and its list of request paths."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.files, httpd.requests, httpd.release = dataset[0], [], threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd.requests
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def all_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# (a) good files download, verify and load --------------------------------------------------

@pytest.mark.parametrize("where", ["root", "env", "home"])
def test_download_verify_and_load(tmp_path, monkeypatch, dataset, server, where):
    _, arrays, sums = dataset
    base, requests = server
    root = tmp_path / "root" if where == "root" else None
    if where == "env":
        monkeypatch.setenv("CONVNP_DATA", str(tmp_path / "env"))
    target = {"root": tmp_path / "root", "env": tmp_path / "env",
              "home": tmp_path / "home" / ".cache" / "convnp"}[where] / "mnist"
    images, labels = load_mnist("train", root=root, mirrors=[f"{base}/good/"], checksums=sums,
                                timeout=TIMEOUT)
    np.testing.assert_array_equal(images, arrays["train"][0])
    np.testing.assert_array_equal(labels, arrays["train"][1])
    assert labels.dtype == np.int64
    assert all_files(target) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    assert all_files(tmp_path) == sorted(all_files(tmp_path / "served")
                                         + all_files(target))
    # A second load finds the cached files and does not touch the network.
    load_mnist("train", root=root, mirrors=[], checksums=sums, timeout=TIMEOUT)
    assert len(requests) == 2


def test_fashion_downloads_into_its_subfolder(tmp_path, dataset, server):
    _, arrays, sums = dataset
    base, _ = server
    images, _ = load_fashion_mnist("test", root=tmp_path / "data", mirrors=[f"{base}/good"],
                                   checksums=sums, timeout=TIMEOUT)
    np.testing.assert_array_equal(images, arrays["test"][0])
    assert all_files(tmp_path / "data") == ["t10k-images-idx3-ubyte.gz",
                                            "t10k-labels-idx1-ubyte.gz"]
    assert (tmp_path / "data" / "fashion-mnist" / "t10k-images-idx3-ubyte.gz").is_file()


def test_download_dataset_keeps_files_already_there(tmp_path, dataset, server):
    files, _, sums = dataset
    base, requests = server
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    (folder / "t10k-images-idx3-ubyte").write_bytes(gzip.decompress(
        files["t10k-images-idx3-ubyte.gz"]))
    out = download_dataset("mnist", tmp_path / "data", mirrors=[f"{base}/good/"],
                           checksums=sums, timeout=TIMEOUT)
    assert out == folder
    assert sorted(requests) == [f"/good/{n}.gz" for n in sorted(NAMES) if n != NAMES[2]]
    assert len(all_files(folder)) == 4


# (b) wrong checksum ----------------------------------------------------------------------

def test_checksum_mismatch_raises_and_leaves_nothing(tmp_path, dataset, server):
    files, _, sums = dataset
    base, _ = server
    name = "train-images-idx3-ubyte.gz"
    actual = sums[name]
    with pytest.raises(DownloadError) as info:
        download_file(name, tmp_path / "dl", [f"{base}/good/", f"{base}/good"], "0" * 32,
                      timeout=TIMEOUT)
    message = str(info.value)
    assert message.count(f"checksum mismatch: expected MD5 {'0' * 32}, got {actual}") == 2
    assert f"{base}/good/{name}" in message
    assert all_files(tmp_path / "dl") == []


def test_checksum_mismatch_through_load_mnist(tmp_path, dataset, server):
    _, _, sums = dataset
    base, _ = server
    bad = dict(sums, **{"t10k-labels-idx1-ubyte.gz": "f" * 32})
    with pytest.raises(DatasetNotFoundError, match="checksum mismatch") as info:
        load_mnist("test", root=tmp_path / "root", mirrors=[f"{base}/good/"], checksums=bad,
                   timeout=TIMEOUT)
    assert isinstance(info.value.__cause__, DownloadError)
    # The images were fine and are kept; the bad labels are gone, with no temp file.
    assert all_files(tmp_path / "root") == ["t10k-images-idx3-ubyte.gz"]


def test_missing_checksum_is_value_error(tmp_path, dataset, server):
    base, _ = server
    with pytest.raises(ValueError, match="no MD5 given for t10k-images-idx3-ubyte.gz"):
        download_dataset("mnist", tmp_path, splits=["test"], mirrors=[f"{base}/good/"],
                         checksums={}, timeout=TIMEOUT)


# (c) connection dropped halfway ----------------------------------------------------------

def test_dropped_connection_falls_back_to_next_mirror(tmp_path, dataset, server):
    files, _, sums = dataset
    base, requests = server
    name = "train-images-idx3-ubyte.gz"
    path = download_file(name, tmp_path / "dl", [f"{base}/drop/", f"{base}/good/"],
                         sums[name], timeout=TIMEOUT)
    assert requests == [f"/drop/{name}", f"/good/{name}"]
    assert path.read_bytes() == files[name]
    assert all_files(tmp_path / "dl") == [name]


def test_dropped_connection_leaves_nothing(tmp_path, dataset, server):
    files, _, sums = dataset
    base, _ = server
    name = "train-images-idx3-ubyte.gz"
    with pytest.raises(DownloadError, match="IncompleteRead") as info:
        download_file(name, tmp_path / "dl", [f"{base}/drop/"], sums[name], timeout=TIMEOUT)
    assert f"{len(files[name]) - len(files[name]) // 2} more expected" in str(info.value)
    assert all_files(tmp_path / "dl") == []


# (d) missing file, and a server that never answers -----------------------------------------

def test_404_falls_back_to_next_mirror(tmp_path, dataset, server):
    _, arrays, sums = dataset
    base, requests = server
    images, _ = load_mnist("test", root=tmp_path, mirrors=[f"{base}/nothing-here/",
                                                           f"{base}/good/"],
                           checksums=sums, timeout=TIMEOUT)
    np.testing.assert_array_equal(images, arrays["test"][0])
    assert requests[:2] == ["/nothing-here/t10k-images-idx3-ubyte.gz",
                            "/good/t10k-images-idx3-ubyte.gz"]


def test_404_on_every_mirror_is_clear_error(tmp_path, dataset, server):
    base, _ = server
    with pytest.raises(DownloadError, match=r"(?s)/a/t10k-labels.*404.*/b/t10k-labels.*404"):
        download_file("t10k-labels-idx1-ubyte.gz", tmp_path / "dl", [f"{base}/a/", f"{base}/b/"],
                      "0" * 32, timeout=TIMEOUT)
    assert all_files(tmp_path / "dl") == []


def test_unresponsive_server_times_out(tmp_path, dataset, server):
    _, _, sums = dataset
    base, _ = server
    name = "t10k-labels-idx1-ubyte.gz"
    with pytest.raises(DownloadError, match="timed out"):
        download_file(name, tmp_path / "dl", [f"{base}/hang/"], sums[name], timeout=0.3)
    assert all_files(tmp_path / "dl") == []


# (e) no network and no local copy ----------------------------------------------------------

@pytest.mark.parametrize("mirrors", ["closed-port", "none"])
def test_no_network_no_local_copy(tmp_path, monkeypatch, mirrors):
    monkeypatch.setenv("CONVNP_DATA", str(tmp_path / "env"))
    urls = [closed_port_url()] if mirrors == "closed-port" else []
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist("train", root=tmp_path / "root", mirrors=urls, timeout=TIMEOUT)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    for place in ["root", "root/mnist", "env", "env/mnist", "home/.cache/convnp",
                  "home/.cache/convnp/mnist"]:
        assert f"{tmp_path / place}\n" in message
    for hint in ["CONVNP_DATA=", "root=", "four files", "Downloading failed"]:
        assert hint in message
    assert (urls[0] if urls else "no mirrors given") in message
    assert all_files(tmp_path) == []


@pytest.mark.parametrize("kwargs, message", [
    ({"mirrors": "http://127.0.0.1:9/"}, r"mirrors must be a list of strings, got 'http"),
    ({"splits": "train"}, r"splits must be a list of strings, got 'train'"),
    ({"timeout": "5"}, r"timeout must be a number, got str '5'"),
])
def test_download_arguments_of_the_wrong_kind_are_named(tmp_path, kwargs, message):
    with pytest.raises(TypeError, match=f"download_dataset: {message}"):
        download_dataset("mnist", tmp_path, **kwargs)  # a string used to be read per character
    assert list(tmp_path.iterdir()) == []


def test_a_root_of_the_wrong_type_is_named():
    with pytest.raises(TypeError, match=r"data_dirs: root \(the data folder\) must be a str"):
        load_mnist(root=5, download=False)
