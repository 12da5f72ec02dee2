#!/usr/bin/env bash
# The cascade demo (issue 20): two complete platforms — the Hubei province platform and the Yichang city
# platform, each with its own CA, data directory, Redis key prefix and gateway — sign a federation
# agreement; a city system's call for a province resource goes through its city gateway, is forwarded
# signed as the city platform, is checked, masked and audited by the province and audited by the city
# under one correlation id; an application for a conditional province resource is filed and checked on the
# city, forwarded to the province's procedure, authorized there with fewer items, and comes back as a
# signed webhook that makes the city grant; then the province revokes the agreement. --no-wait stops at
# the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

NO_WAIT=0
for arg in "$@"; do [ "$arg" = "--no-wait" ] && NO_WAIT=1; done

./scripts/ensure-deps.sh
echo "==> building (tsc)"
npx tsc -p tsconfig.json

DEMO=${GOVSHARE_DEMO_DIR:-$ROOT/data/demo-cascade}
unset GOVSHARE_DEMO_DIR # not a gateway setting: the configuration refuses unknown GOVSHARE_ names
rm -rf "$DEMO"
mkdir -p "$DEMO/systems" "$DEMO/logs"
chmod 700 "$DEMO"
LOGS="$DEMO/logs"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

gs() { node "$ROOT/dist/gateway/cli/bin.js" "$@"; }
free_port() { node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
wait_line() {
  for _ in $(seq 1 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "timed out waiting for $2 in $1" >&2; cat "$1" >&2; exit 1
}
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() { printf '\033[2m%s$ %s\033[0m\n' "$1" "${*:2}"; }
# The two platforms: the same Redis server, their own key prefix, data directory and gateway port.
P_PORT=$(free_port); C_PORT=$(free_port)
PROVINCE_GW="http://127.0.0.1:$P_PORT"; CITY_GW="http://127.0.0.1:$C_PORT"
# Webhooks may reach loopback: the province tells the city gateway (on this host) its decisions.
province() { GOVSHARE_DATA_DIR="$DEMO/province" GOVSHARE_REDIS_PREFIX="hubei:" GOVSHARE_PORT=$P_PORT GOVSHARE_INSTANCE_ID=hubei-gw-1 GOVSHARE_WEBHOOK_ALLOW_LOOPBACK=true gs "$@"; }
city() { GOVSHARE_DATA_DIR="$DEMO/city" GOVSHARE_REDIS_PREFIX="yichang:" GOVSHARE_PORT=$C_PORT GOVSHARE_INSTANCE_ID=yichang-gw-1 gs "$@"; }

P_OPERATOR=114200000100000128   # the province big-data bureau (USCC, check character verified)
C_OPERATOR=114205000100000122   # the city big-data bureau
C_DEPT=11420500010000020W       # 宜昌市市场监督管理局
PSB=11420100010000303G          # the provider of 人口基础信息 (一数一源: named on both catalogs)
POP=101001/000001
POP_URL=101001%2F000001
SI=301001/000001                # 社会保险参保信息: conditional, its provider authorizes each use
HRSS=1142010001000067X9         # its provider, 武汉市人力资源和社会保障局

step "a private redis-server; the province and the city each get their own key prefix"
node dist/scripts/lib/redis-cli-main.js "$DEMO/redis" > "$LOGS/redis.out" 2>&1 &
PIDS+=($!)
wait_line "$LOGS/redis.out" REDIS_URL=
export GOVSHARE_REDIS_URL=$(sed -n 's/^REDIS_URL=//p' "$LOGS/redis.out")
export GOVSHARE_LOG_LEVEL=warn

step "govshare init on each platform: two CAs"
show province "govshare init"; province init | grep -E "fingerprint"
show city "govshare init"; city init | grep -E "fingerprint"
P_FP=$(node -e "console.log(new (require('crypto').X509Certificate)(require('fs').readFileSync('$DEMO/province/ca/ca-cert.pem')).fingerprint256)")

step "the province: the provider department, the simulator and the sample catalog"
province dept add --code "$PSB" --name 武汉市公安局
SIM_PORT=$(free_port)
node "$ROOT/dist/gateway/cli/bin.js" simulator --port "$SIM_PORT" --residents 10000 --enterprises 1000 --social-insurance 1000 > "$LOGS/simulator.out" 2>&1 &
PIDS+=($!)
wait_line "$LOGS/simulator.out" "http://127.0.0.1:$SIM_PORT"
node --input-type=module -e "
import { demoCatalog } from '$ROOT/dist/scripts/lib/demo-catalog.js';
process.stdout.write(JSON.stringify(demoCatalog('http://127.0.0.1:$SIM_PORT'), null, 2));
" > "$DEMO/province-catalog.json"
for d in 11420100010001138Y:武汉市市场监督管理局 1142010001000067X9:武汉市人力资源和社会保障局; do
  province dept add --code "${d%%:*}" --name "${d#*:}" > /dev/null
done
province catalog import "$DEMO/province-catalog.json"

step "the city: its market regulation bureau, a system and its certificate; the federated entry (province resource, province named as provider)"
city dept add --code "$C_DEPT" --name 宜昌市市场监督管理局
city system add --dept "$C_DEPT" --id registration --name 企业登记系统
city cert issue --dept "$C_DEPT" --system registration --out "$DEMO/systems/yichang-amr" > /dev/null
city dept add --code "$PSB" --name 武汉市公安局
city dept add --code "$HRSS" --name 武汉市人力资源和社会保障局
node --input-type=module -e "
import { demoCatalog } from '$ROOT/dist/scripts/lib/demo-catalog.js';
const entries = demoCatalog('http://unused.invalid').filter((e) => e.code === '$POP' || e.code === '$SI');
for (const entry of entries) entry.service = { connector: 'federation', endpoint: 'hubei-province/' + entry.code };
process.stdout.write(JSON.stringify(entries, null, 2));
" > "$DEMO/city-catalog.json"
show city "govshare catalog import city-catalog.json   # service: {connector: federation, endpoint: hubei-province/<code>} for $POP and $SI"
city catalog import "$DEMO/city-catalog.json"

step "both gateways, and both workers (the city's forwards applications, the province's delivers its webhooks)"
province serve > "$LOGS/province.out" 2>&1 & PIDS+=($!)
city serve > "$LOGS/city.out" 2>&1 & PIDS+=($!)
province worker > "$LOGS/province-worker.out" 2>&1 & PIDS+=($!)
city worker > "$LOGS/city-worker.out" 2>&1 & PIDS+=($!)
wait_line "$LOGS/province.out" listening; wait_line "$LOGS/city.out" listening
echo "province $PROVINCE_GW   city $CITY_GW"

step "the federation agreement: the province offers, the city checks the CA fingerprint and countersigns, the province stores it"
show province "govshare federation offer --id hubei-yichang-2026 ... --offers $POP,$SI --peer-ca city-ca.pem --peer-signing-cert city-signing.pem --out offer.json"
province federation offer --id hubei-yichang-2026 --platform-id hubei-province --name 湖北省政务数据共享平台 \
  --operator "$P_OPERATOR" --gateway-url "$PROVINCE_GW" --offers "$POP,$SI" \
  --peer-platform-id yichang-city --peer-name 宜昌市政务数据共享平台 --peer-operator "$C_OPERATOR" \
  --peer-gateway-url "$CITY_GW" --peer-ca "$DEMO/city/ca/ca-cert.pem" \
  --peer-signing-cert "$DEMO/city/platform/signing-cert.pem" --valid-days 365 --out "$DEMO/offer.json"
show city "govshare federation accept offer.json --peer-ca-fingerprint $P_FP --out signed.json"
city federation accept "$DEMO/offer.json" --peer-ca-fingerprint "$P_FP" --out "$DEMO/signed.json"
show province "govshare federation accept signed.json"
province federation accept "$DEMO/signed.json"
province federation list

VALID_TO=$(node -e "console.log(new Date(Date.now()+180*86400e3).toISOString())")
P_BUREAU=$(province token --sub 省数据局审核 --role bureau --ttl 8h)
C_BUREAU=$(city token --sub 市数据局审核 --role bureau --ttl 8h)
grant() { # grant SIDE GW TOKEN DEPT SYSTEM ITEMS
  "$1" api POST "$2/v1/grants" --token "$3" --data "{\"deptCode\":\"$4\",\"systemId\":\"$5\",\"resourceCode\":\"$POP\",\"items\":$6,\"purposes\":[\"market-supervision\"],\"modes\":[\"api\"],\"validTo\":\"$VALID_TO\",\"basis\":\"《政务信息资源共享管理办法》第二十一条\"}" \
    | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const g=JSON.parse(s);console.log('grant',g.id,'to',g.deptCode+'/'+g.systemId,'items',g.items.join(','))})"
}
step "the city bureau grants its market regulation system the federated entry (four items)"
grant city "$CITY_GW" "$C_BUREAU" "$C_DEPT" registration '["idNumber","name","gender","phone"]'

ID=$(node --input-type=module -e "import { sampleKeys } from '$ROOT/dist/connectors/simulator/datasets.js'; console.log(sampleKeys('residents', 1)[0])")
KEY=(--key "$DEMO/systems/yichang-amr/key.pem" --cert "$DEMO/systems/yichang-amr/cert.pem")
call() { city call GET "$CITY_GW/v1/data/$POP_URL?idNumber=$ID" "${KEY[@]}" --purpose market-supervision --user-id wang.li --case-id YC-SCJG-2026-07 || true; }

step "1. the city system calls its city gateway: the province has not granted the city platform yet"
show city "govshare call GET '$CITY_GW/v1/data/$POP_URL?idNumber=...' --purpose market-supervision --user-id wang.li --case-id YC-SCJG-2026-07"
call

step "the province bureau grants the city platform (its bureau, system federation) three items"
grant province "$PROVINCE_GW" "$P_BUREAU" "$C_OPERATOR" federation '["idNumber","name","gender"]'

step "2. the same call: allowed, the province's items and masking"
call

step "3. the two audit trails, joined by the correlation id"
for side in province city; do
  gw=$PROVINCE_GW; [ $side = city ] && gw=$CITY_GW
  token=$($side token --sub 审计员 --role auditor --ttl 1h)
  echo "-- $side"
  $side api GET "$gw/v1/audit?subject=$ID&limit=10" --token "$token" \
    | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{for(const r of JSON.parse(s).records.reverse()){const f=(r.detail&&r.detail.federation)||{};console.log([r.action,r.decision,r.reasonCode??'',r.status,(r.actor.deptCode??'-')+'/'+(r.actor.systemId??'-'),'user='+(r.actor.userId??'-'),'correlation='+(f.correlationId??'-'),f.originDept?'origin='+f.originDept+'/'+f.originSystem:''].join('  '))}})"
done

step "4. a forwarded application: filed on the city for the province's conditional 社会保险参保信息"
C_ADMIN=$(city token --sub wang.li --role dept-admin --dept "$C_DEPT" --ttl 8h)
P_PROVIDER=$(province token --sub 省人社厅授权员 --role dept-admin --dept "$HRSS" --ttl 8h)
field() { node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const v=JSON.parse(s);console.log($1)})"; }
show city "govshare api POST $CITY_GW/v1/applications   # items idNumber,name,insuranceType,status,monthlyBase"
APP=$(city api POST "$CITY_GW/v1/applications" --token "$C_ADMIN" --data "{\"systemId\":\"registration\",\"resourceCode\":\"$SI\",\"items\":[\"idNumber\",\"name\",\"insuranceType\",\"status\",\"monthlyBase\"],\"purposes\":[\"social-assistance\"],\"reason\":\"个体工商户登记时核验社会救助对象的参保状态\",\"modes\":[\"api\"],\"validTo\":\"$VALID_TO\"}" \
  | field "v.id+' '+v.state+' correlation='+v.federation.correlationId")
echo "city application $APP"
APP=${APP%% *}
show city "govshare api POST $CITY_GW/v1/applications/$APP/check   # the city bureau's normative check: accept"
city api POST "$CITY_GW/v1/applications/$APP/check" --token "$C_BUREAU" --data '{"outcome":"accept"}' | field "'city: '+v.state"
echo "the city worker forwards it, signed as the city platform ..."
P_APP=""
for _ in $(seq 1 100); do
  P_APP=$(province api GET "$PROVINCE_GW/v1/applications?resource=${SI/\//%2F}" --token "$P_BUREAU" \
    | field "(v.applications.find((a)=>a.federation&&a.federation.peerApplicationId==='$APP')||{}).id||''")
  [ -n "$P_APP" ] && break; sleep 0.2
done
echo "province application $P_APP (its own clocks: check, then authorize)"
province api POST "$PROVINCE_GW/v1/applications/$P_APP/check" --token "$P_BUREAU" --data '{"outcome":"accept"}' | field "'province bureau: '+v.state"
province api POST "$PROVINCE_GW/v1/applications/$P_APP/authorize" --token "$P_PROVIDER" \
  --data '{"items":["idNumber","name","insuranceType","status"],"reason":"缴费基数不属于核验所需"}' \
  | field "'province provider: '+v.application.state+', grant to '+v.grant.deptCode+'/'+v.grant.systemId+' items '+v.grant.items.join(',')"
echo "the province's signed webhook reaches the city ..."
for _ in $(seq 1 100); do
  STATE=$(city api GET "$CITY_GW/v1/applications/$APP" --token "$C_BUREAU" | field "v.state")
  [ "$STATE" = granted ] && break; sleep 0.2
done
city api GET "$CITY_GW/v1/applications/$APP" --token "$C_BUREAU" \
  | field "'city: '+v.state+' grant '+v.grantId+'\\n'+v.history.map((h)=>'  '+h.action+' '+(h.from??'-')+' -> '+h.to+' by '+h.by.name+(h.reason?' ('+h.reason+')':'')).join('\\n')"

step "5. the province revokes the agreement: refused within about a second"
province federation revoke --id hubei-yichang-2026 --reason "demo: the agreement ends"
sleep 1
call

cat <<EOM

The cascade is running:
  province gateway  $PROVINCE_GW   (data $DEMO/province, Redis prefix hubei:)
  city gateway      $CITY_GW   (data $DEMO/city, Redis prefix yichang:)
  redis             $GOVSHARE_REDIS_URL
  logs              $LOGS/
EOM
if [ "$NO_WAIT" = 1 ]; then exit 0; fi
echo "Press Ctrl-C to stop everything the demo started."
while true; do sleep 3600; done
