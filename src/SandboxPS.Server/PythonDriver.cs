namespace SandboxPS.Server;

/// <summary>
/// The program a python session runs (<c>python3 -u -c SOURCE NONCE</c>). It reads requests
/// ("SEQ LENGTH\n" then LENGTH bytes of UTF-8 code) from fd 3, runs them in one persistent namespace
/// (the value of a trailing expression is printed, as in a REPL), prints tracebacks, and ends every
/// request with the marker the server looks for. User code keeps the terminal as its stdin.
/// </summary>
internal static class PythonDriver
{
    public const string Source = """
import sys, os, ast, traceback, signal
def _sbx_main():
    nonce = sys.argv[1]
    sys.argv[:] = ['']
    fin = os.fdopen(3, 'rb', buffering=0)
    os.set_inheritable(3, False)
    ns = {'__name__': '__main__', '__builtins__': __builtins__}
    def mark(seq, rc):
        for s in (sys.stdout, sys.stderr):
            try:
                s.flush()
            except Exception:
                pass
        try:
            cwd = os.getcwd()
        except OSError:
            cwd = ''
        os.write(1, ('\x1eSBX%s:%d:%d:%s\x1e' % (nonce, seq, rc, cwd)).encode('utf-8', 'surrogateescape'))
    def read_exact(n):
        parts = []
        while n > 0:
            b = fin.read(n)
            if not b:
                raise EOFError
            parts.append(b)
            n -= len(b)
        return b''.join(parts)
    def read_line():
        out = bytearray()
        while True:
            b = fin.read(1)
            if not b:
                raise EOFError
            if b == b'\n':
                return bytes(out)
            out += b
    def user_tb(tb):
        while tb is not None and tb.tb_frame.f_code.co_filename == '<string>':
            tb = tb.tb_next
        return tb
    # Ctrl-C (SIGINT) raises KeyboardInterrupt only while user code runs (state[0] == 1, from just
    # before the start marker to the end of the run, inside the try below): in the driver's own code
    # (reading the next request, printing a marker) it is ignored, so no instant of a timeout or
    # interrupt can cut a request in half or end the driver. One KeyboardInterrupt per run at most.
    state = [0]
    def on_int(signum, frame):
        if state[0] == 1:
            state[0] = 0
            raise KeyboardInterrupt
    signal.signal(signal.SIGINT, on_int)
    mark(0, 0)
    while True:
        try:
            seq, n = (int(x) for x in read_line().split())
            code = read_exact(n).decode('utf-8', 'replace')
        except EOFError:
            return
        rc = 0
        try:
            state[0] = 1
            os.write(1, ('\x1eSBX%s:S%d:0:\x1e' % (nonce, seq)).encode('ascii'))
            tree = ast.parse(code, '<sandbox>', 'exec')
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body.pop().value)
            exec(compile(tree, '<sandbox>', 'exec'), ns)
            if last is not None:
                value = eval(compile(last, '<sandbox>', 'eval'), ns)
                if value is not None:
                    print(repr(value))
            state[0] = 0
        except SystemExit as e:
            state[0] = 0
            c = e.code
            rc = c if isinstance(c, int) else (0 if c is None else 1)
            if not isinstance(c, (int, type(None))):
                print(c, file=sys.stderr)
            # No marker: the run ends with the process, so the session is already marked exited then.
            for s in (sys.stdout, sys.stderr):
                try:
                    s.flush()
                except Exception:
                    pass
            os._exit(rc)
        except KeyboardInterrupt as e:
            state[0] = 0
            traceback.print_exception(type(e), e, user_tb(e.__traceback__))
            rc = 130
        except BaseException as e:
            state[0] = 0
            traceback.print_exception(type(e), e, user_tb(e.__traceback__))
            rc = 1
        state[0] = 0
        if signal.getsignal(signal.SIGINT) is not on_int:
            # User code replaced the handler: the driver's own code must stay safe from Ctrl-C.
            signal.signal(signal.SIGINT, on_int)
        mark(seq, rc)
_sbx_main()
""";
}
