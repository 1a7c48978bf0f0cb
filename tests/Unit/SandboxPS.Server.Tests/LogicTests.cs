using System.Text;

namespace SandboxPS.Server.Tests;

/// <summary>The server's pure logic: marker scanning, output capping, option parsing.</summary>
public sealed class LogicTests
{
    private static (string Output, List<MarkerScanner.Marker> Markers) Scan(IEnumerable<byte[]> chunks, string nonce = "abc123")
    {
        var scanner = new MarkerScanner(nonce);
        var output = new List<byte>();
        var markers = new List<MarkerScanner.Marker>();
        foreach (var chunk in chunks)
        {
            scanner.Feed(chunk, data => output.AddRange(data.ToArray()), markers.Add);
        }
        return (Encoding.UTF8.GetString(output.ToArray()), markers);
    }

    [Fact]
    public void MarkerScanner_FindsMarkers_InOneChunk()
    {
        var data = Encoding.UTF8.GetBytes("hello\n\u001eSBXabc123:7:3:/tmp/dir with space\u001eafter");
        var (output, markers) = Scan([data]);
        Assert.Equal("hello\nafter", output);
        Assert.Equal(new MarkerScanner.Marker(7, 3, "/tmp/dir with space"), Assert.Single(markers));
    }

    [Fact]
    public void MarkerScanner_SplitAtEveryByte_SameResult()
    {
        var text = "a\u001e\u001eSBXabc12\u001eSBXabc123:1:0:/x\u001e\u001eb\u001eSBXabc123:2:130:/y/ü\u001e";
        var bytes = Encoding.UTF8.GetBytes(text);
        var (output, markers) = Scan(bytes.Select(b => new[] { b }));
        Assert.Equal("a\u001e\u001eSBXabc12\u001eb", output);
        Assert.Equal([new MarkerScanner.Marker(1, 0, "/x"), new MarkerScanner.Marker(2, 130, "/y/ü")], markers);
        for (int split = 1; split < bytes.Length; split++)
        {
            var (o2, m2) = Scan([bytes[..split], bytes[split..]]);
            Assert.Equal(output, o2);
            Assert.Equal(markers, m2);
        }
    }

    [Fact]
    public void MarkerScanner_OtherNonceOrGarbage_IsOutput()
    {
        var text = "\u001eSBXzzz999:1:0:/x\u001e and \u001eSBXabc123:notanumber:0:/\u001e";
        var (output, markers) = Scan([Encoding.UTF8.GetBytes(text)]);
        Assert.Empty(markers);
        Assert.Equal(text, output);
    }

    [Fact]
    public void MarkerScanner_BinaryOutput_PassesThrough()
    {
        var random = new Random(42);
        var data = new byte[100_000];
        random.NextBytes(data);
        var scanner = new MarkerScanner("abc123");
        long total = 0;
        int markers = 0;
        for (int i = 0; i < data.Length; i += 977)
        {
            scanner.Feed(data.AsSpan(i, Math.Min(977, data.Length - i)), d => total += d.Length, _ => markers++);
        }
        Assert.Equal(0, markers);
        Assert.Equal(data.Length, total);
    }

    [Fact]
    public void OutputCapture_UnderCap_KeepsAll()
    {
        var c = new OutputCapture(100);
        c.Append("hello "u8);
        c.Append("world"u8);
        Assert.Equal("hello world", c.GetText());
        Assert.False(c.Truncated);
    }

    [Fact]
    public void OutputCapture_OverCap_HeadAndTail()
    {
        var c = new OutputCapture(10);
        foreach (var ch in "0123456789abcdefghij")
        {
            c.Append([(byte)ch]);
        }
        Assert.True(c.Truncated);
        Assert.Equal(20, c.TotalBytes);
        Assert.Equal("01234\n[... 10 bytes truncated ...]\nfghij", c.GetText());
        var big = new OutputCapture(10);
        big.Append(Encoding.ASCII.GetBytes("0123456789abcdefghij"));
        Assert.Equal(c.GetText(), big.GetText());
    }

    [Fact]
    public void OutputCapture_ZeroCap_CountsOnly()
    {
        var c = new OutputCapture(0);
        c.Append("abc"u8);
        Assert.True(c.Truncated);
        Assert.Equal("\n[... 3 bytes truncated ...]\n", c.GetText());
    }

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("10m", 600)]
    [InlineData("2h", 7200)]
    [InlineData("1h30m", 5400)]
    [InlineData("500ms", 0.5)]
    [InlineData("45", 45)]
    [InlineData("1.5", 1.5)]
    public void ParseDuration_Accepts(string text, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), ServerOptions.ParseDuration(text, "--ttl"));

    [Theory]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("-5")]
    [InlineData("0")]
    [InlineData("5x")]
    [InlineData("m")]
    public void ParseDuration_Rejects_NamingTheOption(string text)
    {
        var ex = Assert.Throws<OptionException>(() => ServerOptions.ParseDuration(text, "--idle-timeout"));
        Assert.Contains("--idle-timeout", ex.Message);
    }

    [Fact]
    public void Parse_AllOptions()
    {
        var o = ServerOptions.Parse(["--listen", "0.0.0.0:8080", "--token-file", "/t", "--workdir", "/w", "--idle-timeout=5m", "--ttl", "1h", "--max-sessions", "4"]);
        Assert.Equal("0.0.0.0", o.Host);
        Assert.Equal(8080, o.Port);
        Assert.Equal("/t", o.TokenFile);
        Assert.Equal("/w", o.WorkDir);
        Assert.Equal(TimeSpan.FromMinutes(5), o.IdleTimeout);
        Assert.Equal(TimeSpan.FromHours(1), o.Ttl);
        Assert.Equal(4, o.MaxSessions);
        Assert.Equal("/s.sock", ServerOptions.Parse(["--unix", "/s.sock"]).UnixSocket);
        Assert.Equal(0, ServerOptions.Parse([]).Port);
    }

    [Theory]
    [InlineData("0666", 0b110_110_110)]
    [InlineData("660", 0b110_110_000)]
    [InlineData("0600", 0b110_000_000)]
    public void Parse_UnixMode_TakesOctalBits(string text, int mode)
    {
        Assert.Equal((UnixFileMode)mode, ServerOptions.Parse(["--unix", "/s.sock", "--unix-mode", text]).UnixMode);
        Assert.Equal((UnixFileMode)0b110_000_000, ServerOptions.Parse(["--unix", "/s.sock"]).UnixMode);
    }

    [Theory]
    [InlineData("0400")]  // the server's own user must keep read and write
    [InlineData("0686")]
    [InlineData("66")]
    [InlineData("10666")]
    [InlineData("rw-rw-rw-")]
    public void Parse_UnixMode_RejectsWhatIsNotPermissionBits(string text)
    {
        var ex = Assert.Throws<OptionException>(() => ServerOptions.Parse(["--unix", "/s.sock", "--unix-mode", text]));
        Assert.Contains("--unix-mode", ex.Message);
    }
}

public sealed class OutputCaptureModelTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(1000)]
    public void RandomChunks_MatchTheSimpleModel(int cap)
    {
        var random = new Random(cap);
        for (int round = 0; round < 50; round++)
        {
            var capture = new OutputCapture(cap);
            var all = new List<byte>();
            int chunks = random.Next(1, 40);
            for (int i = 0; i < chunks; i++)
            {
                var chunk = new byte[random.Next(0, cap * 2 + 3)];
                for (int j = 0; j < chunk.Length; j++) chunk[j] = (byte)('a' + random.Next(26));
                capture.Append(chunk);
                all.AddRange(chunk);
            }
            int head = cap / 2, tail = cap - cap / 2;
            string expected = all.Count <= cap
                ? System.Text.Encoding.ASCII.GetString(all.ToArray())
                : System.Text.Encoding.ASCII.GetString(all.Take(head).ToArray())
                  + $"\n[... {all.Count - cap} bytes truncated ...]\n"
                  + System.Text.Encoding.ASCII.GetString(all.Skip(all.Count - tail).ToArray());
            Assert.Equal(expected, capture.GetText());
            Assert.Equal(all.Count > cap, capture.Truncated);
        }
    }
}
