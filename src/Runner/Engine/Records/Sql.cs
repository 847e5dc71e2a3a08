using Microsoft.Data.Sqlite;

namespace Ci.Runner.Engine.Records;

/// <summary>The one way the embedded stores (run records, the run queue) make and run a parameterised SQLite command, and write a time.</summary>
internal static class Sql
{
    /// <summary>Now, as the stores write a time (round-trip ISO 8601, UTC).</summary>
    public static string Now() => DateTimeOffset.UtcNow.ToString("O");

    public static void Execute(SqliteConnection db, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(db, sql, parameters);
        command.ExecuteNonQuery();
    }

    public static object? Scalar(SqliteConnection db, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(db, sql, parameters);
        return command.ExecuteScalar();
    }

    public static SqliteCommand Command(SqliteConnection db, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = db.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }
}
