using SandboxPS.Protocol;

namespace SandboxPS.Server;

/// <summary>
/// Answers of requests that carried <c>X-Request-Id</c>, kept 10 minutes (at most 1,024 and 64 MiB,
/// least recently used out first), so a retried call replays its answer instead of running twice.
/// </summary>
internal sealed class RequestIdStore
{
    public const int Capacity = 1024;
    /// <summary>Stored bodies in total; least recently used answers go first past it.</summary>
    public const long MaxStoredBytes = 64L * 1024 * 1024;
    /// <summary>An answer bigger than this is not kept (a retry runs again).</summary>
    public const long MaxReplyBytes = 16L * 1024 * 1024;
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);
    private long _storedBytes;

    private sealed class Entry(string id, string route, string body)
    {
        public string Id { get; } = id;
        public string Route { get; } = route;
        public string Body { get; } = body;
        public Reply? Reply { get; set; }
        public DateTimeOffset StoredAt { get; set; } = DateTimeOffset.UtcNow;
    }

    private readonly Dictionary<string, LinkedListNode<Entry>> _map = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _lru = new();

    public static bool IsValidId(string id) =>
        id.Length is >= 1 and <= 128 && id.All(c => c is > ' ' and < (char)127);

    /// <summary>
    /// Null when the call should run (it is now in flight); else the stored answer to replay.
    /// <paramref name="body"/> is the request body's fingerprint: the same id with another route or
    /// body is a different request, refused with 422 RequestIdReused (it would otherwise be skipped).
    /// </summary>
    public Reply? Begin(string id, string route, string body = "")
    {
        lock (_map)
        {
            Purge();
            if (_map.TryGetValue(id, out var node))
            {
                var e = node.Value;
                if (e.Route != route)
                {
                    throw new ApiException(422, ErrorIds.RequestIdReused,
                        $"X-Request-Id '{id}' was already used for '{e.Route}'; use a new id for a new request.");
                }
                if (e.Body != body)
                {
                    throw new ApiException(422, ErrorIds.RequestIdReused,
                        $"X-Request-Id '{id}' was already used for a request with a different body; a retry must send the same body, a new request needs a new id.");
                }
                if (e.Reply is null)
                {
                    throw new ApiException(409, ErrorIds.RequestInProgress,
                        $"The request with X-Request-Id '{id}' is still running; retry later to get its answer.");
                }
                _lru.Remove(node);
                _lru.AddFirst(node);
                return e.Reply;
            }
            var added = _lru.AddFirst(new Entry(id, route, body));
            _map[id] = added;
            while (_map.Count > Capacity && _lru.Last is { } last)
            {
                Remove(last);
            }
            return null;
        }
    }

    public void Complete(string id, Reply reply)
    {
        lock (_map)
        {
            if (!_map.TryGetValue(id, out var node))
            {
                return;
            }
            long size = reply.Body?.Length ?? 0;
            if (size > MaxReplyBytes)
            {
                Remove(node);
                return;
            }
            node.Value.Reply = reply;
            node.Value.StoredAt = DateTimeOffset.UtcNow;
            _storedBytes += size;
            var cursor = _lru.Last;
            while (_storedBytes > MaxStoredBytes && cursor is not null)
            {
                var previous = cursor.Previous;
                if (cursor != node && cursor.Value.Reply is not null)
                {
                    Remove(cursor);
                }
                cursor = previous;
            }
        }
    }

    public void Abandon(string id)
    {
        lock (_map)
        {
            if (_map.TryGetValue(id, out var node))
            {
                Remove(node);
            }
        }
    }

    private void Purge()
    {
        var cutoff = DateTimeOffset.UtcNow - Lifetime;
        while (_lru.Last is { } last && last.Value.Reply is not null && last.Value.StoredAt < cutoff)
        {
            Remove(last);
        }
    }

    private void Remove(LinkedListNode<Entry> node)
    {
        _lru.Remove(node);
        _map.Remove(node.Value.Id);
        _storedBytes -= node.Value.Reply?.Body?.Length ?? 0;
    }

    public long StoredBytes
    {
        get
        {
            lock (_map)
            {
                return _storedBytes;
            }
        }
    }
}
