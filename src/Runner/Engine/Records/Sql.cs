using Microsoft.Data.Sqlite;

namespace Ci.Runner.Engine.Records;

/// <summary>The one way the embedded stores (run records, the run queue) make a parameterised SQLite command.</summary>
internal static class Sql
{
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
