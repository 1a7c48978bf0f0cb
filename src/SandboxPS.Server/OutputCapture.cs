using System.Text;

namespace SandboxPS.Server;

/// <summary>
/// Keeps the first and the last half of at most <c>cap</c> bytes of output, counting what falls
/// between, so a flood never grows memory past the cap.
/// </summary>
internal sealed class OutputCapture(int cap)
{
    private readonly int _headCap = cap / 2;
    private readonly int _tailCap = cap - cap / 2;
    private readonly MemoryStream _head = new();
    private byte[]? _ring;
    private int _ringStart;
    private int _ringCount;

    public long TotalBytes { get; private set; }

    public bool Truncated => TotalBytes > _headCap + _tailCap;

    public void Append(ReadOnlySpan<byte> data)
    {
        TotalBytes += data.Length;
        if (_head.Length < _headCap)
        {
            int take = (int)Math.Min(data.Length, _headCap - _head.Length);
            _head.Write(data[..take]);
            data = data[take..];
        }
        if (data.IsEmpty || _tailCap == 0)
        {
            return;
        }
        _ring ??= new byte[_tailCap];
        if (data.Length >= _tailCap)
        {
            data[^_tailCap..].CopyTo(_ring);
            _ringStart = 0;
            _ringCount = _tailCap;
            return;
        }
        // Append to the ring in at most two block copies, overwriting the oldest bytes.
        int write = (_ringStart + _ringCount) % _tailCap;
        int first = Math.Min(data.Length, _tailCap - write);
        data[..first].CopyTo(_ring.AsSpan(write));
        data[first..].CopyTo(_ring);
        int total = _ringCount + data.Length;
        if (total > _tailCap)
        {
            _ringStart = (_ringStart + (total - _tailCap)) % _tailCap;
            _ringCount = _tailCap;
        }
        else
        {
            _ringCount = total;
        }
    }

    public string GetText()
    {
        var bytes = new byte[_head.Length + _ringCount];
        _head.GetBuffer().AsSpan(0, (int)_head.Length).CopyTo(bytes);
        if (_ringCount > 0)
        {
            int first = Math.Min(_ringCount, _tailCap - _ringStart);
            _ring.AsSpan(_ringStart, first).CopyTo(bytes.AsSpan((int)_head.Length));
            _ring.AsSpan(0, _ringCount - first).CopyTo(bytes.AsSpan((int)_head.Length + first));
        }
        if (!Truncated)
        {
            return Encoding.UTF8.GetString(bytes);
        }
        long dropped = TotalBytes - bytes.Length;
        return Encoding.UTF8.GetString(bytes, 0, (int)_head.Length)
            + $"\n[... {dropped} bytes truncated ...]\n"
            + Encoding.UTF8.GetString(bytes, (int)_head.Length, _ringCount);
    }
}
