"""SIGTERM and SIGHUP (what deploy tools and closed terminals send) as an exception, so cleanup runs."""
import contextlib
import os
import signal
import sys
import threading

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Stopped(SystemExit):
    """A stop signal arrived; the process exits with 128 + its number, as if the signal had killed it."""

    def __init__(self, signum):
        super().__init__(128 + signum)
        self.signum = signum

    @property
    def name(self):
        return signal.Signals(self.signum).name


class _Stopper:
    def __init__(self):
        self.received = None  # the first stop signal
        self.raised = False
        self.deferring = 0

    def handle(self, signum, frame):
        self.received = self.received or signum
        if not self.raised and not self.deferring:
            self.raised = True
            raise Stopped(signum)

    def unraisable(self, previous, unraisable):
        """sys.unraisablehook: a Stopped raised inside a finalizer (a __del__, a weakref callback:
        a driver's or the pool's cleanup) is swallowed there, and the run would go on as if no
        signal had come. It is sent again, from a thread, to land back in the run's own code."""
        if not isinstance(unraisable.exc_value, Stopped):
            return previous(unraisable)
        self.raised = False
        threading.Timer(0.01, os.kill, (os.getpid(), unraisable.exc_value.signum)).start()

    @contextlib.contextmanager
    def deferred(self):
        """A block a stop signal must not cut short (the cleanup itself): it raises after the block."""
        self.deferring += 1
        try:
            yield
        finally:
            self.deferring -= 1
        if self.received and not self.raised:
            self.raised = True
            raise Stopped(self.received)


@contextlib.contextmanager
def stop_raises():
    """While the block runs, SIGTERM and SIGHUP raise Stopped (a SystemExit), so its `finally`
    clauses run; yield an object whose deferred() shields cleanup from them. The old handlers
    are back afterwards; a signal the process ignores (nohup's SIGHUP) stays ignored. Only the
    main thread receives signals: elsewhere nothing changes."""
    stopper = _Stopper()
    if threading.current_thread() is not threading.main_thread():
        yield stopper
        return
    previous = {}
    hook = sys.unraisablehook
    try:
        sys.unraisablehook = lambda unraisable: stopper.unraisable(hook, unraisable)
        for signum in STOP_SIGNALS:
            if signal.getsignal(signum) is not signal.SIG_IGN:
                previous[signum] = signal.signal(signum, stopper.handle)
        yield stopper
    finally:
        sys.unraisablehook = hook
        for signum, handler in previous.items():
            # None: the handler was set outside Python, which cannot put it back; the default is nearest.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
    if stopper.received and not stopper.raised:  # arrived as the block ended
        raise Stopped(stopper.received)
