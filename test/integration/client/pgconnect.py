"""Opens COUNT connections at once as USER and holds them; prints how many the server admitted.

Usage: pgconnect.py HOST PORT USER PASSWORD DATABASE COUNT
"""
import json
import sys

import psycopg2

host, port, user, password, database, count = sys.argv[1:7]
connections, error = [], None
for _ in range(int(count)):
    try:
        connections.append(psycopg2.connect(host=host, port=int(port), user=user, password=password, dbname=database, connect_timeout=10))
    except psycopg2.OperationalError as e:
        error = str(e).strip().splitlines()[0]
        break
seen = None
if connections:
    with connections[0].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s", (user,))
        seen = cursor.fetchone()[0]
for c in connections:
    c.close()
print(json.dumps({"opened": len(connections), "seenByServer": seen, "error": error}))
