using System.Text;

namespace SandboxPS.Server;

/// <summary>
/// Splits a session's output stream into plain output and end-of-command markers
/// <c>\x1eSBX&lt;nonce&gt;:&lt;seq&gt;:&lt;exit&gt;:&lt;cwd&gt;\x1e</c>, also when a marker is split across reads.
/// </summary>
internal sealed class MarkerScanner(string nonce)
{
    private const byte RecordSeparator = 0x1e;
    private const int MaxMarkerBody = 64 * 1024;
    private readonly byte[] _prefix = Encoding.ASCII.GetBytes("\x1eSBX" + nonce + ":");
    private byte[] _pending = [];
    private bool _inMarker;

    public readonly record struct Marker(long Seq, int ExitCode, string Cwd);

    public delegate void OutputHandler(ReadOnlySpan<byte> output);

    public void Feed(ReadOnlySpan<byte> data, OutputHandler output, Action<Marker> marker)
    {
        byte[]? joined = null;
        if (_pending.Length > 0)
        {
            joined = new byte[_pending.Length + data.Length];
            _pending.CopyTo(joined, 0);
            data.CopyTo(joined.AsSpan(_pending.Length));
            _pending = [];
        }
        ReadOnlySpan<byte> buf = joined ?? data;
        int i = 0;
        while (i < buf.Length)
        {
            if (_inMarker)
            {
                int end = buf[i..].IndexOf(RecordSeparator);
                if (end < 0)
                {
                    if (buf.Length - i > MaxMarkerBody)
                    {
                        // Not a marker after all: give it back as output.
                        _inMarker = false;
                        output(_prefix);
                        output(buf[i..]);
                        return;
                    }
                    _pending = buf[i..].ToArray();
                    return;
                }
                _inMarker = false;
                var body = buf.Slice(i, end);
                if (TryParse(body, out var m))
                {
                    marker(m);
                }
                else
                {
                    output(_prefix);
                    output(buf.Slice(i, end + 1));
                }
                i += end + 1;
                continue;
            }
            int rs = buf[i..].IndexOf(RecordSeparator);
            if (rs < 0)
            {
                output(buf[i..]);
                return;
            }
            if (rs > 0)
            {
                output(buf.Slice(i, rs));
                i += rs;
            }
            var rest = buf[i..];
            if (rest.Length >= _prefix.Length)
            {
                if (rest[.._prefix.Length].SequenceEqual(_prefix))
                {
                    _inMarker = true;
                    i += _prefix.Length;
                }
                else
                {
                    output(rest[..1]);
                    i++;
                }
            }
            else if (_prefix.AsSpan().StartsWith(rest))
            {
                _pending = rest.ToArray();
                return;
            }
            else
            {
                output(rest[..1]);
                i++;
            }
        }
    }

    private static bool TryParse(ReadOnlySpan<byte> body, out Marker marker)
    {
        marker = default;
        int a = body.IndexOf((byte)':');
        if (a < 0) return false;
        int b = body[(a + 1)..].IndexOf((byte)':');
        if (b < 0) return false;
        b += a + 1;
        if (!long.TryParse(Encoding.ASCII.GetString(body[..a]), out var seq)) return false;
        if (!int.TryParse(Encoding.ASCII.GetString(body[(a + 1)..b]), out var code)) return false;
        marker = new Marker(seq, code, Encoding.UTF8.GetString(body[(b + 1)..]));
        return true;
    }
}
