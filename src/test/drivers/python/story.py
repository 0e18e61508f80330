"""A day in the life of a psycopg 3 application, told against one server: PostgreSQL directly or pgveil.

Usage: python3 story.py '<libpq connection string>'

Each step prints one JSON line: {"step": name, "result": ...} or {"step": name, "error": SQLSTATE, "message": ...}.
The end-to-end test runs the story directly and through pgveil and compares the two, step by step. Everything a
step prints must be the same on both sides, so steps print values, row counts and SQLSTATEs, never process ids or
timings. The story expects a schema "drv" (a table drv.items (id int, name text) with three rows, and an empty
drv.log (id int, note text)), made fresh by the test before each run.
"""
import json
import sys
import threading
import time

import psycopg
from psycopg import sql

DSN = sys.argv[1]


def step(name):
    def run(fn):
        try:
            result = fn()
            print(json.dumps({"step": name, "result": result}, default=str), flush=True)
        except psycopg.Error as e:
            print(json.dumps({"step": name, "error": e.sqlstate, "message": str(e).splitlines()[0] if str(e) else ""}),
                  flush=True)
        except Exception as e:  # a driver-level failure is a result too: the test shows it
            print(json.dumps({"step": name, "failure": type(e).__name__ + ": " + str(e)}), flush=True)
        return fn
    return run


def connect(**kw):
    return psycopg.connect(DSN, **kw)


@step("startup options set search_path and statement_timeout")
def _():
    with connect(options="-c search_path=drv,public -c statement_timeout=5s") as c:
        return [c.execute("show search_path").fetchone()[0], c.execute("show statement_timeout").fetchone()[0],
                c.execute("select count(*) from items").fetchone()[0]]


@step("startup options with a backslash-escaped space")
def _():
    with connect(options=r"-c application_name=my\ app --DateStyle=ISO,\ YMD") as c:
        return [c.execute("show application_name").fetchone()[0], c.execute("show datestyle").fetchone()[0]]


@step("pool reset: DISCARD ALL and RESET ALL, then the session goes on")
def _():
    with connect(autocommit=True) as c:
        c.execute("set search_path = drv")
        c.execute("prepare p as select 1")
        c.execute("DISCARD ALL")
        after_discard = [c.execute("show search_path").fetchone()[0],
                         c.execute("select count(*) from pg_prepared_statements").fetchone()[0]]
        c.execute("set statement_timeout = '7s'")
        c.execute("RESET ALL")
        return after_discard + [c.execute("show statement_timeout").fetchone()[0],
                                c.execute("select current_user = session_user").fetchone()[0]]


@step("transaction characteristics reset with set_config and bind parameters")
def _():
    with connect(autocommit=True) as c:
        c.execute("select set_config(%s, %s, false)", ["default_transaction_isolation", "repeatable read"])
        c.execute("select set_config(%s, %s, false)", ["search_path", "drv"])
        return [c.execute("show default_transaction_isolation").fetchone()[0],
                c.execute("select count(*) from items").fetchone()[0]]


@step("search_path changed inside implicit transaction blocks")
def _():
    out = []
    with connect() as c:  # psycopg opens a block before the first statement
        c.execute("set search_path = drv")
        out.append(c.execute("select count(*) from items").fetchone()[0])
        c.rollback()
        out.append(c.execute("show search_path").fetchone()[0])
        c.execute("set search_path = drv")
        c.commit()
        out.append(c.execute("show search_path").fetchone()[0])
        c.execute("set local search_path = public")
        out.append(c.execute("show search_path").fetchone()[0])
        c.commit()
        out.append(c.execute("show search_path").fetchone()[0])
        c.execute("savepoint s")
        c.execute("set search_path = public")
        c.execute("rollback to savepoint s")
        out.append(c.execute("show search_path").fetchone()[0])
        out.append(c.execute("select count(*) from items").fetchone()[0])
        c.execute("reset search_path")
        out.append(c.execute("show search_path").fetchone()[0])
        c.rollback()
    return out


@step("a Parse holding several statements")
def _():
    with connect(autocommit=True) as c:
        return c.execute("select 1; select 2", prepare=True).fetchall()


@step("pipeline with results")
def _():
    with connect(autocommit=True) as c:
        with c.pipeline():
            a = c.execute("select 1")
            b = c.execute("select %s::int + 1", [1])
            d = c.execute("insert into drv.log values (%s, %s) returning id", [1, "piped"])
        return [a.fetchone()[0], b.fetchone()[0], d.fetchone()[0]]


@step("error in the middle of a pipeline")
def _():
    with connect(autocommit=True) as c:
        seen = []
        try:
            with c.pipeline():
                c.execute("insert into drv.log values (2, 'before')")
                c.execute("select 1/0")
                c.execute("insert into drv.log values (3, 'after')")
        except psycopg.Error as e:
            seen.append(e.sqlstate)
        seen.append(c.execute("select count(*) from drv.log where id in (2, 3)").fetchone()[0])
        return seen


@step("multiple results from one query")
def _():
    with connect(autocommit=True) as c:
        cur = c.cursor()
        cur.execute("select 1 as a; select 'two' as b, 2 as c")
        out = [cur.fetchall()]
        while cur.nextset():
            out.append(cur.fetchall())
        return out


@step("COPY in and out")
def _():
    with connect(autocommit=True) as c:
        with c.cursor().copy("COPY drv.log (id, note) FROM STDIN") as copy:
            for i in range(10, 15):
                copy.write_row((i, "copied %d" % i))
        out = []
        with c.cursor().copy("COPY (select id, note from drv.log where id >= 10 order by id) TO STDOUT") as copy:
            for row in copy.rows():
                out.append(list(row))
        return out


@step("server-side cursor")
def _():
    with connect() as c:
        with c.cursor(name="story_cursor") as cur:
            cur.itersize = 2
            cur.execute("select id, name from drv.items order by id")
            rows = [list(r) for r in cur]
        c.commit()
        return rows


@step("client-side cursor, scroll")
def _():
    with connect(autocommit=True) as c:
        cur = c.cursor()
        cur.execute("select id from drv.items order by id")
        first = cur.fetchone()
        cur.scroll(2, mode="absolute")
        return [first[0], cur.fetchone()[0]]


@step("LISTEN and NOTIFY")
def _():
    with connect(autocommit=True) as listener, connect(autocommit=True) as sender:
        listener.execute("listen story_channel")
        sender.execute("select pg_notify('story_channel', 'hello')")
        sender.execute("notify story_channel, 'world'")
        got = []
        for n in listener.notifies(timeout=5, stop_after=2):
            got.append([n.channel, n.payload])
        return got


@step("cancel a running statement")
def _():
    with connect(autocommit=True) as c:
        timer = threading.Timer(0.5, c.cancel_safe)
        timer.start()
        try:
            c.execute("select pg_sleep(10)")
            return "not cancelled"
        except psycopg.errors.QueryCanceled as e:
            return ["cancelled", e.sqlstate, c.execute("select 1").fetchone()[0]]
        finally:
            timer.cancel()


@step("prepared statements, past the prepare threshold")
def _():
    with connect(autocommit=True) as c:
        out = []
        for i in range(8):
            out.append(c.execute("select name from drv.items where id = %s", [1 + i % 3], prepare=True).fetchone()[0])
        return out


@step("binary results")
def _():
    with connect(autocommit=True) as c:
        cur = c.cursor(binary=True)
        cur.execute("select 42::int4, 'text'::text, '2026-12-01 10:00:00+00'::timestamptz, 1.5::numeric, "
                    "array[1,2,3]::int[], '{\"a\": 1}'::jsonb")
        return list(cur.fetchone())


@step("errors carry their SQLSTATE and the session goes on")
def _():
    with connect(autocommit=True) as c:
        states = []
        for q in ["select 1/0", "select * from drv.nowhere", "select nope from drv.items", "selec 1"]:
            try:
                c.execute(q)
            except psycopg.Error as e:
                states.append(e.sqlstate)
        states.append(c.execute("select count(*) from drv.items").fetchone()[0])
        return states


@step("a transaction with an error inside, then rollback")
def _():
    with connect() as c:
        c.execute("insert into drv.log values (20, 'in block')")
        try:
            c.execute("select 1/0")
        except psycopg.Error as e:
            state = e.sqlstate
        try:
            c.execute("select 1")
        except psycopg.Error as e:
            aborted = e.sqlstate
        c.rollback()
        return [state, aborted, c.execute("select count(*) from drv.log where id = 20").fetchone()[0]]


@step("latest protocol version")
def _():
    with connect(max_protocol_version="latest", autocommit=True) as c:
        timer = threading.Timer(0.5, c.cancel_safe)
        timer.start()
        try:
            c.execute("select pg_sleep(10)")
            cancelled = False
        except psycopg.errors.QueryCanceled:
            cancelled = True
        finally:
            timer.cancel()
        return [c.execute("select 1").fetchone()[0], cancelled]


@step("bulk: executemany, a 10,000-row VALUES list, = ANY of a list, IN lists bound and inlined")
def _():
    with connect(autocommit=True) as c:
        with c.cursor() as cur:
            cur.executemany("insert into drv.log (id, note) values (%s, %s)", [(1000 + i, "many %d" % i) for i in range(2000)])
        c.execute("insert into drv.log (id, note) values "
                  + ", ".join("(%d, 'row %d')" % (20000 + i, i) for i in range(10000)))
        ids = list(range(20000, 30000))
        any_count = c.execute("select count(*) from drv.log where id = any(%s)", (ids,)).fetchone()[0]
        in_count = c.execute("select count(*) from drv.log where id in (" + ", ".join(["%s"] * 5000) + ")",
                             ids[:5000]).fetchone()[0]
        inlined = psycopg.ClientCursor(c)  # client-side binding: the constants inline in the text
        inlined.execute("select count(*) from drv.log where note in (" + ", ".join(["%s"] * 3000) + ")",
                        ["row %d" % i for i in range(3000)])
        return [c.execute("select count(*) from drv.log where id >= 1000").fetchone()[0], any_count, in_count,
                inlined.fetchone()[0]]


print(json.dumps({"step": "the end"}), flush=True)
