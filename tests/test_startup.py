"""The window's start-up check: a clear line where Qt would abort the process."""

from __future__ import annotations

import pytest

from inpaint_gui.core.errors import DisplayError, InpaintError

app = pytest.importorskip("inpaint_gui.gui.app")


def everything(soname: str) -> bool:
    return True


def lacking(*missing: str):
    return lambda soname: soname not in missing


def test_xcb_with_every_library_passes():
    app.check_display({"DISPLAY": ":0"}, "linux", everything)


def test_missing_libraries_name_the_packages():
    with pytest.raises(DisplayError) as info:
        app.check_display({"DISPLAY": ":0"}, "linux", lacking("libxcb-cursor.so.0", "libxkbcommon-x11.so.0"))
    message = str(info.value)
    assert isinstance(info.value, InpaintError) and "\n" not in message
    assert "sudo apt install libxcb-cursor0 libxkbcommon-x11-0" in message
    assert "libxcb-cursor.so.0, libxkbcommon-x11.so.0" in message


def test_one_package_per_library_family():
    with pytest.raises(DisplayError, match=r"sudo apt install libglib2.0-0`"):
        app.check_display({"DISPLAY": ":0"}, "linux", lacking("libglib-2.0.so.0", "libgthread-2.0.so.0"))


def test_no_display_at_all():
    with pytest.raises(DisplayError, match="there is no display"):
        app.check_display({}, "linux", everything)
    with pytest.raises(DisplayError, match="there is no display"):
        app.check_display({"QT_QPA_PLATFORM": "xcb"}, "linux", everything)


@pytest.mark.parametrize(
    "env",
    [
        {"QT_QPA_PLATFORM": "offscreen"},  # the tests' platform
        {"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"},
        {"QT_QPA_PLATFORM": "vnc:size=800x600"},
        {"WAYLAND_DISPLAY": "wayland-0"},
        {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"},
    ],
)
def test_other_platforms_are_left_to_qt(env):
    app.check_display(env, "linux", lacking(*app.XCB_LIBRARIES), compositor=listening)


def listening(env):
    return "/run/user/1000/wayland-0"


def nobody(env):
    return None


def test_a_wayland_display_with_no_compositor_falls_back_to_xcb():
    """WAYLAND_DISPLAY left over (an ssh session, a closed desktop): Qt's Wayland plugin fails and
    Qt falls back to xcb, which then aborted the process with Qt's generic text."""
    with pytest.raises(DisplayError, match="no Wayland compositor listens there, and DISPLAY is not set"):
        app.check_display({"WAYLAND_DISPLAY": "wayland-0"}, "linux", everything, compositor=nobody)
    with pytest.raises(DisplayError, match="sudo apt install libxcb-cursor0"):
        app.check_display(
            {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"},
            "linux",
            lacking("libxcb-cursor.so.0"),
            compositor=nobody,
        )


def test_the_wayland_socket_is_found(tmp_path):
    import socket

    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "wayland-7"))
        assert app.wayland_socket({"WAYLAND_DISPLAY": "wayland-7", "XDG_RUNTIME_DIR": str(tmp_path)}) is not None
        assert app.wayland_socket({"WAYLAND_DISPLAY": str(tmp_path / "wayland-7")}) is not None
    assert app.wayland_socket({"WAYLAND_DISPLAY": "wayland-7"}) is None  # no runtime folder to look in
    assert app.wayland_socket({"WAYLAND_DISPLAY": "wayland-8", "XDG_RUNTIME_DIR": str(tmp_path)}) is None
    (tmp_path / "plain").write_text("not a socket")
    assert app.wayland_socket({"WAYLAND_DISPLAY": "plain", "XDG_RUNTIME_DIR": str(tmp_path)}) is None


def test_xcb_requested_is_checked():
    for env in (
        {"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0"},
        {"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "x11"},
    ):
        with pytest.raises(DisplayError, match="libxcb-icccm4"):
            app.check_display(env, "linux", lacking("libxcb-icccm.so.4"))


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_other_systems_are_not_checked(platform):
    app.check_display({}, platform, lacking(*app.XCB_LIBRARIES))


def test_the_list_covers_what_the_plugin_needs():
    """Every system library libqxcb.so asks for (read from the installed plugin) is in the list."""
    import subprocess
    from pathlib import Path

    import PySide6

    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.exists():
        pytest.skip("no xcb plugin in this PySide6")
    try:
        dump = subprocess.run(["readelf", "-d", str(plugin)], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        pytest.skip("readelf is not available")
    needed = {line.split("[")[1].split("]")[0] for line in dump.splitlines() if "(NEEDED)" in line}
    system = {s for s in needed if not s.startswith(("libQt6", "libstdc++", "libm.", "libc.", "libgcc_s"))}
    assert system and system <= set(app.XCB_LIBRARIES), system - set(app.XCB_LIBRARIES)


def test_the_readme_lists_the_packages_first():
    """README's first section (before the first heading) names every package the check can name."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    first = readme.split("\n## ", 1)[0]
    words = set(first.replace("\\", " ").split())
    assert "apt" in words and set(app.XCB_LIBRARIES.values()) <= words, set(app.XCB_LIBRARIES.values()) - words
