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
        foreach (var b in data)
        {
            int pos = (_ringStart + _ringCount) % _tailCap;
            _ring[pos] = b;
            if (_ringCount < _tailCap)
            {
                _ringCount++;
            }
            else
            {
                _ringStart = (_ringStart + 1) % _tailCap;
            }
        }
    }

    public string GetText()
    {
        var bytes = new byte[_head.Length + _ringCount];
        _head.GetBuffer().AsSpan(0, (int)_head.Length).CopyTo(bytes);
        for (int i = 0; i < _ringCount; i++)
        {
            bytes[_head.Length + i] = _ring![(_ringStart + i) % _tailCap];
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
