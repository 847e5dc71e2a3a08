using Ci.Pipeline.Model;
using Ci.Runner.Engine.Queue;

namespace Ci.Runner.Tests.Server;

/// <summary>The durable queue on its real SQLite file: one run per delivery, superseded runs, claims within limits, recovery after a kill.</summary>
public sealed class SqliteRunQueueTests
{
    private string _state = null!;

    [SetUp]
    public void SetUp() => _state = Directory.CreateTempSubdirectory("queue-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_state, true);

    private static RunTicket Ticket(string delivery, string branch = "main", string repository = "acme/app") => new()
    {
        Repository = repository, DeliveryKey = delivery, Event = TriggerEvent.Push, Branch = branch, Commit = new string('a', 40), Group = $"branch/{branch}",
    };

    [Test]
    public void The_same_delivery_twice_is_one_run_and_survives_reopening_the_store()
    {
        var first = SqliteRunQueue.Open(_state).Enqueue(Ticket("github:1"), supersede: true);
        var second = SqliteRunQueue.Open(_state).Enqueue(Ticket("github:1"), supersede: true);
        Assert.That((first.Created, second.Created, second.Run.Id), Is.EqualTo((true, false, first.Run.Id)));
        Assert.That(SqliteRunQueue.Open(_state).Waiting().Depth, Is.EqualTo(1));
    }

    [Test]
    public void A_newer_push_to_a_branch_cancels_its_queued_run_and_names_its_running_one_for_the_caller_to_stop()
    {
        var queue = SqliteRunQueue.Open(_state);
        var running = queue.Enqueue(Ticket("1"), true).Run;
        queue.Claim("owner", _ => true);
        var waiting = queue.Enqueue(Ticket("2"), true).Run;
        var other = queue.Enqueue(Ticket("3", "dev"), true).Run;
        var newest = queue.Enqueue(Ticket("4"), true);
        Assert.That(newest.Superseded.Select(r => (r.Id, r.State)), Is.EquivalentTo(new[] { (running.Id, QueueState.Running), (waiting.Id, QueueState.Queued) }));
        Assert.That((queue.Find(waiting.Id)!.Status, queue.Find(waiting.Id)!.Note), Is.EqualTo(("cancelled", $"superseded by run {newest.Run.Id}")));
        Assert.That(queue.Find(other.Id)!.State, Is.EqualTo(QueueState.Queued), "another branch's run is not touched");
    }

    [Test]
    public void Claims_take_the_oldest_run_the_limits_admit()
    {
        var queue = SqliteRunQueue.Open(_state);
        var a = queue.Enqueue(Ticket("1", repository: "acme/a"), false).Run;
        var b = queue.Enqueue(Ticket("2", repository: "acme/b"), false).Run;
        Assert.That(queue.Claim("me", r => r.Ticket.Repository != "acme/a")!.Id, Is.EqualTo(b.Id));
        Assert.That(queue.Claim("me", _ => true)!.Id, Is.EqualTo(a.Id));
        Assert.That(queue.Claim("me", _ => true), Is.Null);
    }

    [Test]
    public void Runs_of_a_dead_owner_are_queued_again_once_and_end_as_an_error_the_second_time()
    {
        var queue = SqliteRunQueue.Open(_state);
        var run = queue.Enqueue(Ticket("1"), false).Run;
        queue.Claim("dead-1", _ => true);
        Assert.That(queue.Recover(owner => owner != "dead-1", maxAttempts: 2).Select(r => r.Id), Is.EqualTo(new[] { run.Id }));
        var again = queue.Find(run.Id)!;
        Assert.That((again.State, again.Note), Is.EqualTo((QueueState.Queued, "retry: the server was restarted while this run was running")));

        queue.Claim("dead-2", _ => true);
        queue.Recover(owner => false, maxAttempts: 2);
        var ended = queue.Find(run.Id)!;
        Assert.That((ended.State, ended.Status, ended.Attempt), Is.EqualTo((QueueState.Done, "error", 2)));
    }
}
