# gdb commands for gevent-cpp programs, live or in a core file.
#
#   (gdb) source tools/gdb/gevent.py        (or add-auto-load-safe-path and install it as
#                                            <program>-gdb.py beside the program)
#   (gdb) info greenlets                    the greenlets of the selected thread's hub
#   (gdb) greenlet bt 3                     greenlet 3's stack, as if it were running
#
# The commands read the hub through its thread-local pointer (gevent::Hub::this_thread_) and
# the greenlets through their fields, so they need the library's debug information (-g: the
# debug, asan and tsan presets have it; add -g to a Release build). `greenlet bt` walks a
# suspended greenlet's stack from the context its last switch saved (src/context/
# switch_x86_64.hpp: the resume address, then %rbp, then the 128-byte red zone above).

import gdb
from gdb.unwinder import Unwinder, register_unwinder

RED_ZONE = 128
SUBJECTS = ("none", "object", "fd", "greenlet", "pid")


def _unique_ptr_target(value):
    """What a std::unique_ptr with the default deleter holds (one pointer, its only field)."""
    pointee = value.type.template_argument(0)
    return value.address.cast(pointee.pointer().pointer()).dereference()


def _field_at(type_, name):
    """(byte offset, type) of field `name` in `type_` or one of its bases, else None."""
    for field in type_.strip_typedefs().fields():
        if field.name == name and not field.is_base_class:
            return field.bitpos // 8, field.type
        if field.is_base_class:
            found = _field_at(field.type, name)
            if found:
                return field.bitpos // 8 + found[0], found[1]
    return None


class _Greenlet:
    """A GreenletBase in the inferior, read field by field: dereferencing a pointer to a
    polymorphic class makes gdb look up its dynamic type, and warn for every lambda's task."""

    def __init__(self, address):
        self.address = int(address)

    def __getitem__(self, name):
        found = _field_at(gdb.lookup_type("gevent::detail::GreenletBase"), name)
        if found is None:
            raise gdb.GdbError("gevent: GreenletBase has no field %s: a different version?" % name)
        offset, type_ = found
        return gdb.Value(self.address + offset).cast(type_.pointer()).dereference()


def _this_hub():
    # Looked up as a symbol, not parsed: the selected frame may be C code (libc), whose
    # expressions have no namespaces.
    symbol = gdb.lookup_global_symbol("gevent::Hub::this_thread_") or \
        gdb.lookup_static_symbol("gevent::Hub::this_thread_")
    if symbol is None:
        raise gdb.GdbError("gevent: no symbol gevent::Hub::this_thread_: is the library built "
                           "with -g?")
    hub = symbol.value(gdb.selected_frame())
    if int(hub) == 0:
        raise gdb.GdbError("gevent: the selected thread has no hub")
    return hub.dereference()


def _greenlets(hub):
    """The main greenlet, then the live ones (newest first)."""
    yield _Greenlet(hub["main_"]["p_"])
    node = hub["live_head_"]
    while int(node) != 0:
        greenlet = _Greenlet(node)
        yield greenlet
        node = greenlet["live_next"]


def _name(greenlet):
    extras = _unique_ptr_target(greenlet["extras_"])
    if int(extras) != 0 and bool(extras["has_name"]):
        return extras["name"]["_M_dataplus"]["_M_p"].string(
            length=int(extras["name"]["_M_string_length"]))
    kind = str(greenlet["kind_"]).split("::")[-1]
    if kind == "main":
        return "MainGreenlet"
    if kind == "hub":
        return "Hub"
    return "Greenlet-%d" % int(greenlet["id_"])


def _find(hub, ident):
    for greenlet in _greenlets(hub):
        if int(greenlet["id_"]) == ident:
            return greenlet
    raise gdb.GdbError("gevent: no greenlet %d on this thread's hub" % ident)


def _waiting_for(greenlet):
    waiter = greenlet["waiting_in"]
    if int(waiter) == 0:
        return ""
    topic = waiter["topic_"]
    text = topic["what"].string()
    subject = SUBJECTS[int(topic["subject"])]
    which = int(topic["which"])
    if subject in ("fd", "pid") and which >= 1 << 63:
        which -= 1 << 64  # stored as uintptr_t: -1 is waitpid's "any child"
    if subject == "object":
        text += " at %#x" % which
    elif subject == "fd":
        text += " on fd %d" % which
    elif subject == "greenlet":
        joined = _Greenlet(which)
        text += ' greenlet %d "%s"' % (int(joined["id_"]), _name(joined))
    elif subject == "pid":
        text += " pid %d" % which
    return text


def _state(hub, greenlet):
    if greenlet.address == int(hub["current_"]):
        return "running"
    if str(greenlet["state_"]).endswith("scheduled"):
        return "scheduled"
    if bool(greenlet["queued_"]):
        return "ready"
    waiting = _waiting_for(greenlet)
    return "waiting for " + waiting if waiting else "suspended"


class InfoGreenlets(gdb.Command):
    """List the greenlets of the selected thread's hub: id, name, state and what each waits on."""

    def __init__(self):
        super().__init__("info greenlets", gdb.COMMAND_STACK)

    def invoke(self, argument, from_tty):
        hub = _this_hub()
        print("hub %#x: %d greenlets alive" % (int(hub.address), int(hub["live_count_"])))
        for greenlet in _greenlets(hub):
            print('  greenlet %d "%s": %s' % (int(greenlet["id_"]), _name(greenlet),
                                            _state(hub, greenlet)))


class SwitchedOutUnwinder(Unwinder):
    """While `target` is set, the innermost frame's caller is the frame a suspended greenlet's
    last switch saved: gdb then unwinds that greenlet's stack with its usual tables."""

    def __init__(self):
        super().__init__("gevent greenlet")
        self.target = None  # (ip, sp, bp)

    def __call__(self, pending_frame):
        if self.target is None or pending_frame.level() != 0:
            return None
        ip, sp, bp = self.target
        # The innermost frame's id must lie below its caller's on the stack, or gdb stops
        # the walk ("previous frame inner to this frame"): say it lies at the greenlet's
        # saved context, just below the frame the switch left.
        frame_id = _FrameId(gdb.Value(sp - 16 - RED_ZONE), pending_frame.read_register("rip"))
        info = pending_frame.create_unwind_info(frame_id)
        info.add_saved_register("rip", gdb.Value(ip))
        info.add_saved_register("rsp", gdb.Value(sp))
        info.add_saved_register("rbp", gdb.Value(bp))
        return info


class _FrameId:
    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc


_unwinder = SwitchedOutUnwinder()
register_unwinder(None, _unwinder, replace=True)


def _saved_frame(greenlet):
    """The resume address, stack and frame pointers that swap_context saved."""
    context = int(greenlet["context"])
    if context == 0:
        raise gdb.GdbError("gevent: this greenlet has no saved context (it never ran)")
    words = gdb.lookup_type("unsigned long").pointer()
    slots = gdb.Value(context).cast(words)
    return int(slots[0]), context + 16 + RED_ZONE, int(slots[1])


def _print_frames(first, limit):
    frame, level = first, 0
    while frame is not None and level < limit:
        sal = frame.find_sal()
        where = ""
        if sal.symtab is not None:
            where = " at %s:%d" % (sal.symtab.filename, sal.line)
        name = frame.name() or "??"
        print("#%-2d 0x%016x in %s%s" % (level, frame.pc(), name, where))
        if name == "gevent_context_start":
            break  # a greenlet's first frame: nothing called it
        frame, level = frame.older(), level + 1


class GreenletCommand(gdb.Command):
    """Commands on one greenlet of the selected thread's hub: greenlet bt ID [LIMIT]."""

    def __init__(self):
        super().__init__("greenlet", gdb.COMMAND_STACK, prefix=True)


class GreenletBacktrace(gdb.Command):
    """greenlet bt ID [LIMIT]: the stack of greenlet ID as if it were running (its id as
    `info greenlets` shows it)."""

    def __init__(self):
        super().__init__("greenlet bt", gdb.COMMAND_STACK)

    def invoke(self, argument, from_tty):
        words = gdb.string_to_argv(argument)
        if not words:
            raise gdb.GdbError("usage: greenlet bt ID [LIMIT]")
        limit = int(words[1]) if len(words) > 1 else 64
        hub = _this_hub()
        greenlet = _find(hub, int(words[0]))
        if greenlet.address == int(hub["current_"]):
            _print_frames(gdb.newest_frame(), limit)  # it is the one running
            return
        _unwinder.target = _saved_frame(greenlet)
        gdb.invalidate_cached_frames()
        try:
            _print_frames(gdb.newest_frame().older(), limit)
        finally:
            _unwinder.target = None
            gdb.invalidate_cached_frames()


InfoGreenlets()
GreenletCommand()
GreenletBacktrace()
