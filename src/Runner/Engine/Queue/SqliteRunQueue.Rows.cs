using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using static Ci.Runner.Engine.Records.Sql;

namespace Ci.Runner.Engine.Queue;

public sealed partial class SqliteRunQueue
{
    private SqliteConnection Connect()
    {
        var db = new SqliteConnection(_connectionString);
        db.Open();
        // FULL: a commit is on the disk when it returns; the answer to a hook waits for it.
        Execute(db, "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 30000");
        return db;
    }

    private static List<QueuedRun> Read(SqliteConnection db, string where, params (string, object?)[] parameters)
    {
        using var query = Command(db, "SELECT id, ticket, state, status, note, attempt, queued, started, finished, run_ids, owner, jobs FROM queue " + where, parameters);
        using var reader = query.ExecuteReader();
        var runs = new List<QueuedRun>();
        while (reader.Read())
        {
            var ticket = JsonSerializer.Deserialize(reader.GetString(1), QueueJson.Default.RunTicket)!;
            var state = reader.GetString(2) switch { "queued" => QueueState.Queued, "running" => QueueState.Running, _ => QueueState.Done };
            var runIds = reader.GetString(9).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToList();
            runs.Add(new QueuedRun(reader.GetInt64(0), ticket, state, Text(reader, 3), Text(reader, 4), reader.GetInt32(5), Time(reader.GetString(6)),
                Text(reader, 7) is { } started ? Time(started) : null, Text(reader, 8) is { } finished ? Time(finished) : null, runIds, Text(reader, 10))
            {
                Jobs = Text(reader, 11) is { } jobs ? JsonSerializer.Deserialize(jobs, QueueJson.Default.ListPlannedJobView)! : [],
            });
        }

        return runs;
    }

    private static string? Text(SqliteDataReader reader, int i) => reader.IsDBNull(i) ? null : reader.GetString(i);

    private static DateTimeOffset Time(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);
}
