#!/bin/bash
# Cobord (this branch, SQLite) and the yws anchor under the shared harness, 200 clients, one sitting.
set -u
cd /work/wt/i7load
R=/work/wt/i7load/bench/results/issue7
H=/tmp/i7load-harness
tmp=$(mktemp -d /tmp/i7load-case.XXXXXX)
port=$(.venv/bin/python -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
SECRET_KEY=bench COBORD_CREATE_PER_MINUTE=0 .venv/bin/python -m server.cli serve --port $port --database-url "sqlite+aiosqlite:///$tmp/cobord.db" > $tmp/server.log 2>&1 &
spid=$!
for i in $(seq 100); do grep -q "Uvicorn running" $tmp/server.log && break; sleep 0.3; done
read -r board token < <(curl -s -X POST -H 'content-type: application/json' -d '{"title":"bench"}' http://127.0.0.1:$port/api/boards | jq -r '"\(.id) \(.facilitator_token)"')
echo "cobord: $(uptime)" > $R/harness-uptime.txt
(cd $H && timeout 300 node bench.mjs --scenario workshop --url "ws://127.0.0.1:$port/ws" --room "$board" --query "token=$token" \
  --clients 200 --full 5 --rate 1 --duration 20 --schema board --server-pid $spid --server-name cobord-i7load-sqlite \
  --out $R/harness-cobord-c200.json > /dev/null 2> $R/harness-cobord-c200.txt)
curl -s http://127.0.0.1:$port/metrics | grep -E "refused|accepted" >> $R/harness-cobord-c200.txt
kill $spid; wait $spid
yport=$(.venv/bin/python -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
$H/servers/yws-server.sh $yport > $tmp/yws.log 2>&1 &
ypid=$!
for i in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$yport) 2>/dev/null && break; sleep 0.3; done
echo "yws: $(uptime)" >> $R/harness-uptime.txt
(cd $H && timeout 300 node bench.mjs --scenario workshop --url "ws://127.0.0.1:$yport" --room bench \
  --clients 200 --full 5 --rate 1 --duration 20 --schema board --server-pid $ypid --server-name yws \
  --out $R/harness-yws-c200.json > /dev/null 2> $R/harness-yws-c200.txt)
kill $ypid; wait $ypid
echo "end: $(uptime)" >> $R/harness-uptime.txt
