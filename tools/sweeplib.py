"""Shared parts of tools/sweep and tools/matrix (Python 3.11 stdlib only).

Finding bbmstress and reading its --help, the duration syntax, writing files
atomically, running many bbmstress processes with a job limit, a timeout and
a clean stop on SIGINT/SIGTERM, a progress line with an ETA, and gnuplot.
"""
import argparse
import json
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time

TOOLS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(TOOLS_DIR)

# bbmstress exit statuses.
EXIT_SUCCESS, EXIT_FAILURE, EXIT_USAGE, EXIT_HARNESS = 0, 1, 2, 3
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad input to a script: one message on stderr, exit status 2."""


class HarnessError(Exception):
    """The script or bbmstress could not do its job: exit status 3."""


def die(prog, err):
    """Print one 'prog: message' line and exit 2 (usage) or 3 (harness)."""
    sys.stderr.write('%s: %s\n' % (prog, err))
    sys.exit(EXIT_USAGE if isinstance(err, UsageError) else EXIT_HARNESS)


# --- bbmstress -------------------------------------------------------------

def find_bbmstress(given=None):
    """--bbmstress PATH, else $BBM_STRESS, else build/bin/bbmstress."""
    if given:
        path, origin = given, '--bbmstress'
    elif os.environ.get('BBM_STRESS'):
        path, origin = os.environ['BBM_STRESS'], '$BBM_STRESS'
    else:
        path = os.path.join(REPO_DIR, 'build', 'bin', 'bbmstress')
        origin = 'the default path'
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise UsageError('bbmstress not found at %s (%s): build it with '
                         '`scons`, or give --bbmstress PATH' % (path, origin))
    return os.path.abspath(path)


class BbmOption:
    """One bbmstress option as its --help describes it."""

    def __init__(self, name, metavar):
        self.name = name              # long name without dashes
        self.metavar = metavar        # None for a flag (no argument)

    @property
    def is_flag(self):
        return self.metavar is None

    @property
    def comma_valued(self):
        """Its own value is a comma list (CORE:N,... OP=W,... CORE,...)."""
        return self.metavar is not None and ',' in self.metavar


# '  --name METAVAR     text' or '  --name            text'
_HELP_OPTION = re.compile(r'^ {2}(?:-\w, )?--([a-z0-9][a-z0-9-]*)'
                          r'(?:[ =](\S+))?(?: {2,}|$)')
# '  cortex-x4        MIDR_CORTEX_X4         yes'
_HELP_CORE = re.compile(r'^ {2}([a-z0-9][a-z0-9-]*) +MIDR_\w+ +(yes|no)$')


def bbmstress_help(bbmstress):
    """Options {name: BbmOption} and core types {name: has BBML2_NOABORT}."""
    try:
        out = subprocess.run([bbmstress, '--help'], capture_output=True,
                             text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise HarnessError('cannot run %s --help: %s' % (bbmstress, e))
    options, cores = {}, {}
    for line in out.splitlines():
        m = _HELP_OPTION.match(line)
        if m:
            options[m.group(1)] = BbmOption(m.group(1), m.group(2))
            continue
        m = _HELP_CORE.match(line)
        if m:
            cores[m.group(1)] = m.group(2) == 'yes'
    if 'duration' not in options or not cores:
        raise HarnessError('cannot read the options of %s --help' % bbmstress)
    return options, cores


_DURATION = re.compile(r'(\d+(?:\.\d*)?|\.\d+)(us|ms|s|m|h)?')
_DURATION_UNITS = {'us': 1e-6, 'ms': 1e-3, 's': 1, 'm': 60, 'h': 3600,
                   None: 1}


def parse_duration(text):
    """bbmstress's syntax: 10s, 1.5s, 500ms, 2m, 1h, 10us; bare = s."""
    m = _DURATION.fullmatch(text.strip())
    if not m:
        raise ValueError("bad duration '%s' (use e.g. 5s, 300ms, 2m)"
                         % text)
    return float(m.group(1)) * _DURATION_UNITS[m.group(2)]


def format_seconds(seconds):
    """A short human duration: 850ms, 42s, 3m05s, 1h02m."""
    if seconds < 1:
        return '%dms' % round(seconds * 1000)
    seconds = round(seconds)
    if seconds < 60:
        return '%ds' % seconds
    if seconds < 3600:
        return '%dm%02ds' % divmod(seconds, 60)
    return '%dh%02dm' % (seconds // 3600, seconds % 3600 // 60)


def core_count():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def command_line(argv):
    """argv as one line a shell would split back into argv."""
    return ' '.join(shlex.quote(a) for a in argv)


# --- files -------------------------------------------------------------------

def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp() makes 0600 files: give results the usual 0666 & ~umask.
FILE_MODE = 0o666 & ~_umask()


def write_atomic(path, text):
    """Write text to path through a temp file in the same folder + rename."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder,
                               prefix='.%s.' % os.path.basename(path))
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, 'w') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def check_writable_file(path, what):
    """Fail early, before any run, if path cannot be written later."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError('%s %s is a folder' % (what, path))
    if not os.path.isdir(folder):
        raise UsageError('%s %s: folder %s does not exist'
                         % (what, path, folder))
    if not os.access(folder, os.W_OK):
        raise UsageError('%s %s: folder %s is not writable'
                         % (what, path, folder))


def last_line(path):
    """The last non-empty line of a text file ('' if none or unreadable)."""
    try:
        with open(path, errors='replace') as f:
            lines = [l.strip() for l in f if l.strip()]
    except OSError:
        return ''
    return lines[-1] if lines else ''


def read_bbm_json(path):
    """A bbmstress JSON result, or None if it is not one."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or 'verdict' not in data:
        return None
    return data


# --- running bbmstress -------------------------------------------------------

class Task:
    """One bbmstress run: argv ends with --json json_path."""

    def __init__(self, argv, json_path, log_path, timeout_s, tag):
        self.argv = argv
        self.json_path = json_path
        self.log_path = log_path
        self.timeout_s = timeout_s
        self.tag = tag          # the caller's key for the run


class Result:
    """What came of a Task."""

    def __init__(self):
        self.status = None      # exit status; -N if killed by signal N
        self.wall_s = 0.0
        self.data = None        # the JSON, if the run completed
        self.error = None       # else why not, in one line
        self.usage = False      # bbmstress rejected the command line
        self.cancelled = False  # stopped by us (interrupt): not a result


class Runner:
    """Run Tasks, at most `jobs` at once, each in its own process group.

    run() returns when every task is done, or soon after stop(): running
    bbmstress processes get SIGINT (SIGKILL 5 s later), their results come
    back with cancelled=True and tasks not started are dropped.  SIGINT and
    SIGTERM to this process call stop(); interrupted tells whether they did.
    """

    KILL_GRACE_S = 5.0

    def __init__(self, jobs):
        self.jobs = jobs
        self.interrupted = None         # the signal's name, once one came
        self._stopping = threading.Event()
        self._stop_time = None
        self._lock = threading.Lock()
        self._procs = {}                # pid -> Popen
        self._events = queue.Queue()

    def stop(self):
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._stop_time = time.monotonic()
        self._signal_all(signal.SIGINT)

    def _signal_all(self, sig):
        with self._lock:
            pids = list(self._procs)
        for pid in pids:
            _killpg(pid, sig)

    def _on_signal(self, signum, frame):
        self.interrupted = signal.Signals(signum).name

    def run(self, tasks, on_start, on_done):
        """Call on_start(task) and on_done(task, result) in this thread."""
        todo = queue.Queue()
        for task in tasks:
            todo.put(task)
        old = {s: signal.signal(s, self._on_signal)
               for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            workers = [threading.Thread(target=self._worker, args=(todo,),
                                        daemon=True)
                       for _ in range(min(self.jobs, max(todo.qsize(), 1)))]
            for w in workers:
                w.start()
            running = len(workers)
            while running:
                if self.interrupted:
                    self.stop()
                if (self._stop_time is not None and time.monotonic() -
                        self._stop_time > self.KILL_GRACE_S):
                    self._signal_all(signal.SIGKILL)
                try:
                    kind, task, result = self._events.get(timeout=0.2)
                except queue.Empty:
                    continue
                if kind == 'exit':
                    running -= 1
                elif kind == 'start':
                    on_start(task)
                else:
                    on_done(task, result)
            for w in workers:
                w.join()
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)

    def _worker(self, todo):
        while not self._stopping.is_set():
            try:
                task = todo.get_nowait()
            except queue.Empty:
                break
            self._events.put(('start', task, None))
            self._events.put(('done', task, self._run_one(task)))
        self._events.put(('exit', None, None))

    def _run_one(self, task):
        result = Result()
        start = time.monotonic()
        timed_out = False
        try:
            with open(task.log_path, 'w') as log:
                proc = subprocess.Popen(task.argv, stdin=subprocess.DEVNULL,
                                        stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        except OSError as e:
            result.error = 'cannot run %s: %s' % (task.argv[0], e)
            return result
        with self._lock:
            self._procs[proc.pid] = proc
        if self._stopping.is_set():     # stop() came before we registered
            _killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=task.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        with self._lock:
            del self._procs[proc.pid]
        result.wall_s = time.monotonic() - start
        result.status = proc.returncode
        if self._stopping.is_set():
            result.cancelled = True
            return result
        if timed_out:
            result.error = ('no result after %s: killed (a hang?)'
                            % format_seconds(task.timeout_s))
            return result
        why = last_line(task.log_path)
        if proc.returncode < 0:
            result.error = 'killed by %s' % signal.Signals(
                -proc.returncode).name
        elif proc.returncode == EXIT_USAGE:
            result.usage = True
            result.error = why or 'usage error (exit status 2)'
        elif proc.returncode not in (EXIT_SUCCESS, EXIT_FAILURE):
            result.error = 'exit status %d: %s' % (proc.returncode,
                                                   why or 'no message')
        else:
            result.data = read_bbm_json(task.json_path)
            if result.data is None:
                result.error = 'exit status %d but no JSON in %s' % (
                    proc.returncode, task.json_path)
            elif result.data.get('interrupted'):
                result.data, result.error = None, 'interrupted by a signal'
        return result


def _killpg(pid, sig):
    """Signal a run's process group, which may have exited already."""
    try:
        os.killpg(pid, sig)
    except OSError:
        pass


class Progress:
    """One progress line on stderr: redrawn on a terminal, else appended."""

    def __init__(self, prog, total, jobs, guess_run_s):
        self.prog = prog
        self.total = total
        self.jobs = max(1, jobs)
        self.guess_run_s = guess_run_s
        self.start = time.monotonic()
        self.tty = sys.stderr.isatty()
        self._shown = False

    def eta(self, done):
        """Time left: measured throughput once a run finished, else guess."""
        left = self.total - done
        if left <= 0:
            return 0.0
        if done:
            return (time.monotonic() - self.start) / done * left
        return self.guess_run_s * -(-left // self.jobs)

    def elapsed(self):
        return time.monotonic() - self.start

    def show(self, text):
        line = '%s: %s' % (self.prog, text)
        if self.tty:
            sys.stderr.write('\r\x1b[K' + line)
            self._shown = True
        else:
            sys.stderr.write(line + '\n')
        sys.stderr.flush()

    def done(self):
        """End the redrawn line so later messages start on their own."""
        if self._shown:
            sys.stderr.write('\n')
            sys.stderr.flush()
            self._shown = False


# --- gnuplot -----------------------------------------------------------------

def gnuplot_terminal():
    """'pngcairo' or 'png', whichever this gnuplot has; None if no gnuplot."""
    for term in ('pngcairo', 'png'):
        try:
            proc = subprocess.run(['gnuplot', '-e', 'set terminal %s' % term],
                                  capture_output=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None
        if proc.returncode == 0 and not proc.stderr.strip():
            return term
    return None


def gnuplot_string(text):
    """text as a gnuplot double-quoted string."""
    return '"%s"' % text.replace('\\', '\\\\').replace('"', '\\"')


def run_gnuplot(script, png_path, terminal):
    """Draw script into png_path atomically; HarnessError on failure."""
    folder = os.path.dirname(os.path.abspath(png_path))
    fd, tmp = tempfile.mkstemp(dir=folder, suffix='.png',
                               prefix='.%s.' % os.path.basename(png_path))
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    head = 'set terminal %s size 900,560\nset output %s\n' % (
        terminal, gnuplot_string(tmp))
    try:
        proc = subprocess.run(['gnuplot'], input=head + script + '\nunset '
                              'output\n', capture_output=True, text=True,
                              timeout=60)
        if proc.returncode != 0:
            raise HarnessError('gnuplot failed on %s: %s' % (
                png_path, last_line_of(proc.stderr) or 'no message'))
        os.replace(tmp, png_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def last_line_of(text):
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    return lines[-1] if lines else ''


# --- command lines -----------------------------------------------------------

class Parser(argparse.ArgumentParser):
    """argparse with bad input reported as one line (UsageError)."""

    def error(self, message):
        raise UsageError('%s (see --help)' % message)


def help_formatter(prog):
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=28,
                                                width=80)


def wrap_list(items, indent, width=78):
    """', '-joined items on lines of at most width characters."""
    lines, line = [], indent
    for i, item in enumerate(items):
        word = item + (',' if i < len(items) - 1 else '')
        if line.strip() and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = indent
        line += (' ' if line.strip() else '') + word
    return '\n'.join(lines + [line])


def positive_int(text):
    try:
        value = int(text, 10)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError("'%s' is not a whole number >= 1"
                                         % text)
    return value


def nonnegative_int(text):
    try:
        value = int(text, 10)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError("'%s' is not a whole number >= 0"
                                         % text)
    return value
