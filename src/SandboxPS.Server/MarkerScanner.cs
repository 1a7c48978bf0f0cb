using System.Globalization;
using System.Text;

namespace SandboxPS.Server;

/// <summary>
/// Splits a session's output stream into plain output and end-of-command markers
/// <c>\x1eSBX&lt;nonce&gt;:&lt;seq&gt;:&lt;exit&gt;:&lt;cwd&gt;\x1e</c>, also when a marker is split across reads.
/// A seq of <c>S&lt;n&gt;</c> is a start marker (the process has read command n whole and runs it now);
/// <c>P&lt;n&gt;</c> (or <c>-1</c>) is a prompt marker (the shell is at its prompt; n = the last command it started).
/// </summary>
internal sealed class MarkerScanner(string nonce)
{
    private const byte RecordSeparator = 0x1e;
    private const int MaxMarkerBody = 64 * 1024;
    private readonly byte[] _prefix = Encoding.ASCII.GetBytes("\x1eSBX" + nonce + ":");
    private byte[] _pending = [];
    private bool _inMarker;

    public enum MarkerKind
    {
        End,
        Start,
        Prompt,
    }

    public readonly record struct Marker(long Seq, int ExitCode, string Cwd, MarkerKind Kind = MarkerKind.End);

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
        var kind = MarkerKind.End;
        var seqText = body[..a];
        if (seqText.Length > 0 && (seqText[0] == (byte)'S' || seqText[0] == (byte)'P'))
        {
            kind = seqText[0] == (byte)'S' ? MarkerKind.Start : MarkerKind.Prompt;
            seqText = seqText[1..];
        }
        long seq = 0;
        if (!(kind == MarkerKind.Prompt && seqText.Length == 0)
            && !long.TryParse(Encoding.ASCII.GetString(seqText), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out seq)) return false;
        if (!int.TryParse(Encoding.ASCII.GetString(body[(a + 1)..b]), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var code)) return false;
        if (kind == MarkerKind.End && seq == -1)
        {
            kind = MarkerKind.Prompt;
        }
        marker = new Marker(seq, code, Encoding.UTF8.GetString(body[(b + 1)..]), kind);
        return true;
    }
}
