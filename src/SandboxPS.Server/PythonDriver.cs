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
import sys, os, ast, traceback
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
    mark(0, 0)
    while True:
        try:
            seq, n = (int(x) for x in read_line().split())
            code = read_exact(n).decode('utf-8', 'replace')
        except EOFError:
            return
        except KeyboardInterrupt:
            continue
        rc = 0
        try:
            tree = ast.parse(code, '<sandbox>', 'exec')
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body.pop().value)
            exec(compile(tree, '<sandbox>', 'exec'), ns)
            if last is not None:
                value = eval(compile(last, '<sandbox>', 'eval'), ns)
                if value is not None:
                    print(repr(value))
        except SystemExit as e:
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
            traceback.print_exception(type(e), e, user_tb(e.__traceback__))
            rc = 130
        except BaseException as e:
            traceback.print_exception(type(e), e, user_tb(e.__traceback__))
            rc = 1
        try:
            mark(seq, rc)
        except KeyboardInterrupt:
            mark(seq, 130)
_sbx_main()
""";
}
