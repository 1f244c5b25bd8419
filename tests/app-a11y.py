#!/usr/bin/python3
# The app as a screen reader sees it: through AT-SPI (pyatspi), the accessibility bus of the
# session bus in DBUS_SESSION_BUS_ADDRESS. Finds the app by its name, walks what it shows
# (every window it has open: the main one, dialogs, Preferences) and checks that every
# control (buttons, toggles, switches, entries) has a name, and that each text given on the
# command line is read somewhere. Windows open a moment after they are asked for, so the
# walk is repeated until every text is read or 20 s have passed.
#   app-a11y.py APP_NAME TEXT...
# Prints what it finds; exits 1 when a check fails, 2 when the app never shows up.
import sys
import time

import pyatspi

CONTROLS = {
    pyatspi.ROLE_PUSH_BUTTON,
    pyatspi.ROLE_TOGGLE_BUTTON,
    pyatspi.ROLE_CHECK_BOX,
    pyatspi.ROLE_RADIO_BUTTON,
    pyatspi.ROLE_TEXT,
    pyatspi.ROLE_ENTRY,
    pyatspi.ROLE_SPIN_BUTTON,
    pyatspi.ROLE_COMBO_BOX,
    pyatspi.ROLE_SLIDER,
}
SWITCH = getattr(pyatspi, "ROLE_SWITCH", None)
if SWITCH is not None:
    CONTROLS.add(SWITCH)


def find_app(name, deadline):
    while time.monotonic() < deadline:
        desktop = pyatspi.Registry.getDesktop(0)
        for i in range(desktop.childCount):
            app = desktop.getChildAtIndex(i)
            if app is not None and app.name == name:
                return app
        time.sleep(0.2)
    return None


def walk(node, depth=0):
    if node is None or depth > 60:
        return
    yield node
    for i in range(node.childCount):
        try:
            child = node.getChildAtIndex(i)
        except Exception:
            continue
        yield from walk(child, depth + 1)


def text_of(node):
    try:
        text = node.queryText()
        return text.getText(0, -1)
    except Exception:
        return ""


def walk_app(app):
    unnamed = []
    read = set()
    controls = []
    for node in walk(app):
        try:
            # GTK 4.8 marks only the window "showing"; "visible" covers every page of a
            # stack, the ones not on screen too: they must be named all the same.
            states = node.getState()
            if not states.contains(pyatspi.STATE_VISIBLE):
                continue
            role = node.getRole()
        except Exception:
            continue
        label = node.name or ""
        read.add(label)
        read.add(text_of(node))
        if role in CONTROLS:
            controls.append(f"{node.getRoleName()}: {label!r}")
            if not label.strip():
                unnamed.append(node.getRoleName())
            # A mnemonic's underscore read aloud ("_Create Party Create Party"), or GTK's
            # fallback to the type's name ("GtkButton").
            if "_" in label or label.startswith(("Gtk", "Adw")):
                unnamed.append(f"{node.getRoleName()} {label!r}")
    return unnamed, read, controls


def main():
    name, wanted = sys.argv[1], sys.argv[2:]
    app = find_app(name, time.monotonic() + 20)
    if app is None:
        print(f"the app {name} never showed up on the accessibility bus")
        return 2

    deadline = time.monotonic() + 20
    while True:
        unnamed, read, controls = walk_app(app)
        missing = [text for text in wanted if not any(text in r for r in read)]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.5)

    for control in controls:
        print(control)
    failed = False
    if not controls:
        print("no controls found")
        failed = True
    if unnamed:
        print(f"controls without a (clean) name: {unnamed}")
        failed = True
    for text in missing:
        print(f"nothing reads {text!r}")
        failed = True
    return 1 if failed else 0


sys.exit(main())
