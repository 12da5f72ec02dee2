#!/usr/bin/env bash
# The README's demo: installs what is missing, starts a private Redis, the front-end processor simulator
# and the gateway, registers departments, systems and certificates, loads a sample catalog, grants
# access, and makes real signed calls. Everything it starts stops on Ctrl-C (or at once with --no-wait).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

NO_WAIT=0
CRYPTO=intl # --crypto gm: the 国密 profile (SM2 certificates, sm2-sm3 signatures, SM3/SM4)
PREV=
for arg in "$@"; do
  [ "$arg" = "--no-wait" ] && NO_WAIT=1
  [ "$PREV" = "--crypto" ] && CRYPTO=$arg
  case "$arg" in --crypto=*) CRYPTO=${arg#--crypto=} ;; esac
  PREV=$arg
done
case "$CRYPTO" in intl | gm) ;; *) echo "--crypto must be intl or gm, not $CRYPTO" >&2; exit 2 ;; esac

./scripts/ensure-deps.sh
echo "==> building (tsc)"
npx tsc -p tsconfig.json
npx vite build --config console/vite.config.ts

DEMO=${GOVSHARE_DEMO_DIR:-$ROOT/data/demo}
unset GOVSHARE_DEMO_DIR # not a gateway setting: the configuration refuses unknown GOVSHARE_ names
rm -rf "$DEMO"
mkdir -p "$DEMO/systems"
chmod 700 "$DEMO"
LOGS="$DEMO/logs"
mkdir -p "$LOGS"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Background services are started with node directly (not through gs), so that $! is the process to stop.
gs() { node "$ROOT/dist/gateway/cli/bin.js" "$@"; }
free_port() { node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
wait_line() { # wait_line FILE PATTERN: wait until a background process printed its address
  for _ in $(seq 1 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "timed out waiting for $2 in $1" >&2; cat "$1" >&2; exit 1
}
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() { printf '\033[2m$ %s\033[0m\n' "$*"; }

step "starting a private redis-server (AOF on) under $DEMO/redis"
node dist/scripts/lib/redis-cli-main.js "$DEMO/redis" > "$LOGS/redis.out" 2>&1 &
PIDS+=($!)
wait_line "$LOGS/redis.out" REDIS_URL=
export GOVSHARE_REDIS_URL=$(sed -n 's/^REDIS_URL=//p' "$LOGS/redis.out")
export GOVSHARE_DATA_DIR="$DEMO/platform"
export GOVSHARE_REDIS_PREFIX="demo:"
export GOVSHARE_LOG_LEVEL=warn
echo "Redis at $GOVSHARE_REDIS_URL"

step "govshare init: platform root CA, signing key, token key (crypto profile $CRYPTO)"
show "govshare init --crypto $CRYPTO"
gs init --crypto "$CRYPTO"
if [ "$CRYPTO" = gm ]; then
  show "openssl verify -vfyopt distid:1234567812345678 -CAfile ca-cert.pem ca-cert.pem   # an SM2 root, SM2-with-SM3"
  openssl verify -vfyopt distid:1234567812345678 -CAfile "$GOVSHARE_DATA_DIR/ca/ca-cert.pem" "$GOVSHARE_DATA_DIR/ca/ca-cert.pem"
fi

step "registering departments and their systems (unified social credit codes are checked)"
declare -A DEPT=( [psb]=11420100010000303G [amr]=11420100010001138Y [hrss]=1142010001000067X9 )
declare -A NAME=( [psb]=武汉市公安局 [amr]=武汉市市场监督管理局 [hrss]=武汉市人力资源和社会保障局 )
declare -A SYS=( [psb]=hukou-service [amr]=registration [hrss]=insurance-service )
declare -A SYSNAME=( [psb]=户籍业务系统 [amr]=企业登记注册系统 [hrss]=社会保险经办系统 )
show "govshare dept add --code 11420100010000303H --name 武汉市公安局   # one wrong character"
gs dept add --code 11420100010000303H --name 武汉市公安局 || true
for d in psb amr hrss; do
  gs dept add --code "${DEPT[$d]}" --name "${NAME[$d]}"
  gs system add --dept "${DEPT[$d]}" --id "${SYS[$d]}" --name "${SYSNAME[$d]}"
done

step "issuing a certificate for each system (key.pem is written with mode 0600)"
for d in psb amr hrss; do
  show "govshare cert issue --dept ${DEPT[$d]} --system ${SYS[$d]} --out $DEMO/systems/$d"
  gs cert issue --dept "${DEPT[$d]}" --system "${SYS[$d]}" --out "$DEMO/systems/$d"
done
openssl verify -CAfile "$DEMO/systems/amr/ca.pem" "$DEMO/systems/amr/cert.pem" 2>/dev/null || true

step "starting the front-end processor simulator (synthetic residents, enterprises, social insurance)"
SIM_PORT=$(free_port)
node "$ROOT/dist/gateway/cli/bin.js" simulator --port "$SIM_PORT" --residents 100000 --enterprises 20000 --social-insurance 80000 > "$LOGS/simulator.out" 2>&1 &
PIDS+=($!)
wait_line "$LOGS/simulator.out" "http://127.0.0.1:$SIM_PORT"
SIM_URL="http://127.0.0.1:$SIM_PORT"

step "loading the sample catalog (two base resources, one conditional, one not shared), mounted on the simulator"
node --input-type=module -e "
import { demoCatalog } from '$ROOT/dist/scripts/lib/demo-catalog.js';
process.stdout.write(JSON.stringify(demoCatalog('$SIM_URL'), null, 2));
" > "$DEMO/catalog.json"
gs catalog import "$DEMO/catalog.json"

PORT=${GOVSHARE_PORT:-$(free_port)}
export GOVSHARE_PORT=$PORT
GW="http://127.0.0.1:$PORT"
step "starting the gateway on $GW"
node "$ROOT/dist/gateway/cli/bin.js" serve > "$LOGS/gateway.out" 2>&1 &
PIDS+=($!)
wait_line "$LOGS/gateway.out" "listening"

step "starting a worker (deadline clocks, webhooks, availability probes, quality checks, bulk exchange)"
node "$ROOT/dist/gateway/cli/bin.js" worker > "$LOGS/worker.out" 2>&1 &
PIDS+=($!)
wait_line "$LOGS/worker.out" "worker running"

BUREAU=$(gs token --sub 张审核 --role bureau --ttl 8h)
AUDITOR=$(gs token --sub 李审计 --role auditor --ttl 8h)
POP=101001%2F000001
ID=$(node --input-type=module -e "import { sampleKeys } from '$ROOT/dist/connectors/simulator/datasets.js'; console.log(sampleKeys('residents', 1)[0])")
VALID_TO=$(node -e "console.log(new Date(Date.now()+180*86400e3).toISOString())")

step "the bureau grants the market regulation bureau's system access to 人口基础信息 (unconditional)"
show "govshare api POST $GW/v1/grants --token \$BUREAU --data '{\"basis\":\"《湖北省政务信息资源共享管理办法》第二十一条…\",...}'"
gs api POST "$GW/v1/grants" --token "$BUREAU" --data "{\"basis\":\"《湖北省政务信息资源共享管理办法》第二十一条：无条件共享资源由平台直接授权\",\"deptCode\":\"${DEPT[amr]}\",\"systemId\":\"registration\",\"resourceCode\":\"101001/000001\",\"items\":[\"idNumber\",\"name\",\"gender\",\"birthDate\",\"phone\",\"address\"],\"purposes\":[\"market-supervision\"],\"modes\":[\"api\"],\"validTo\":\"$VALID_TO\",\"quota\":{\"perMinute\":600,\"perDay\":100000}}" \
  | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const g=JSON.parse(s);console.log('grant',g.id,'items',g.items.join(','),'purposes',g.purposes.join(','))})"

AMR_ADMIN=$(gs token --sub 市监局管理员 --role dept-admin --dept "${DEPT[amr]}" --ttl 8h)
HRSS_ADMIN=$(gs token --sub 人社局管理员 --role dept-admin --dept "${DEPT[hrss]}" --ttl 8h)
PSB_ADMIN=$(gs token --sub 公安局管理员 --role dept-admin --dept "${DEPT[psb]}" --ttl 8h)

step "the provider (HRSS) tries to grant its conditional 社会保险参保信息 directly: refused, the procedure cannot be skipped"
show "govshare api POST $GW/v1/grants --token \$HRSS_ADMIN --data '{...\"resourceCode\":\"301001/000001\"...}'"
gs api POST "$GW/v1/grants" --token "$HRSS_ADMIN" --data "{\"deptCode\":\"${DEPT[amr]}\",\"systemId\":\"registration\",\"resourceCode\":\"301001/000001\",\"items\":[\"idNumber\",\"insuranceType\"],\"purposes\":[\"market-supervision\"],\"modes\":[\"api\"],\"validTo\":\"$VALID_TO\"}" \
  | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const p=JSON.parse(s);console.log(p.status,p.code+':',p.detail)})" || true

step "a scheduled withdrawal: AMR withdraws 企业登记信息, which PSB's system uses; at least 5 working days of notice, announced at once"
gs api POST "$GW/v1/grants" --token "$BUREAU" --data "{\"basis\":\"户籍业务核验企业登记信息\",\"deptCode\":\"${DEPT[psb]}\",\"systemId\":\"hukou-service\",\"resourceCode\":\"102001/000001\",\"items\":[\"uscc\",\"name\",\"status\"],\"purposes\":[\"household-registration\"],\"modes\":[\"api\"],\"validTo\":\"$VALID_TO\"}" \
  | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const g=JSON.parse(s);console.log('grant',g.id,'to',g.deptCode+'/'+g.systemId,'basis:',g.basis)})"
TOMORROW=$(node -e "console.log(new Date(Date.now()+8*3600e3+86400e3).toISOString().slice(0,10))")
show "govshare api POST $GW/v1/catalog/102001%2F000001/withdraw --token \$AMR_ADMIN --data '{\"reason\":\"职能调整\",\"effectiveFrom\":\"$TOMORROW\"}'"
EARLIEST=$( (gs api POST "$GW/v1/catalog/102001%2F000001/withdraw" --token "$AMR_ADMIN" --data "{\"reason\":\"职能调整，由市数据局统一提供\",\"effectiveFrom\":\"$TOMORROW\"}" 2>/dev/null || true) \
  | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const p=JSON.parse(s);console.error(p.status+' '+p.code+': '+p.detail);console.log(/effectiveFrom (\\d{4}-\\d{2}-\\d{2})/.exec(p.detail)?.[1]??'')})")
show "govshare api POST $GW/v1/catalog/102001%2F000001/withdraw --token \$AMR_ADMIN --data '{\"reason\":\"职能调整\",\"effectiveFrom\":\"$EARLIEST\"}'"
gs api POST "$GW/v1/catalog/102001%2F000001/withdraw" --token "$AMR_ADMIN" --data "{\"reason\":\"职能调整，由市数据局统一提供\",\"effectiveFrom\":\"$EARLIEST\"}" \
  | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const r=JSON.parse(s);console.log('filed:',r.action,r.code,'effective status now',r.effectiveStatus)})" || true
show "govshare api GET '$GW/v1/inbox?type=resource.withdrawn' --token \$PSB_ADMIN"
gs api GET "$GW/v1/inbox?type=resource.withdrawn" --token "$PSB_ADMIN" \
  | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{for(const e of JSON.parse(s).events)console.log(e.at,e.type,e.data.resourceCode,'effective',e.data.effectiveFrom,'reason:',e.data.reason)})"

# An array, so that a checkout path with spaces stays one argument; AMR_TEXT is how it is shown.
AMR=(--key "$DEMO/systems/amr/key.pem" --cert "$DEMO/systems/amr/cert.pem")
AMR_TEXT="--key '$DEMO/systems/amr/key.pem' --cert '$DEMO/systems/amr/cert.pem'"
step "1. an allowed signed call: masked and projected to the granted items; the response signature is verified"
show "govshare call GET '$GW/v1/data/$POP?idNumber=$ID' $AMR_TEXT --purpose market-supervision --user-id wang.keyuan --case-id SCJG-2026-0815"
gs call GET "$GW/v1/data/$POP?idNumber=$ID" "${AMR[@]}" --purpose market-supervision --user-id wang.keyuan --case-id SCJG-2026-0815 || true

step "2. the same system asks for a purpose its grant does not allow"
show "govshare call GET '$GW/v1/data/$POP?idNumber=$ID' $AMR_TEXT --purpose tax-collection --user-id wang.keyuan"
gs call GET "$GW/v1/data/$POP?idNumber=$ID" "${AMR[@]}" --purpose tax-collection --user-id wang.keyuan || true

step "3. a captured request replayed: the same signed bytes sent twice"
show "govshare call POST '$GW/v1/data/$POP/query' $AMR_TEXT --purpose market-supervision --user-id wang.keyuan --data '{\"keys\":[\"$ID\"],\"items\":[\"gender\"]}' --repeat 2"
gs call POST "$GW/v1/data/$POP/query" "${AMR[@]}" --purpose market-supervision --user-id wang.keyuan --data "{\"keys\":[\"$ID\"],\"items\":[\"gender\"]}" --repeat 2 || true

step "4. a not-shared resource can never be called"
gs call GET "$GW/v1/data/301002%2F000001?caseNumber=A1" "${AMR[@]}" --purpose market-supervision --user-id wang.keyuan --quiet || true

step "5. applying for a conditional resource: AMR applies, the bureau checks, the provider (HRSS) authorizes narrowed items"
json() { node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const v=JSON.parse(s);console.log($1)})"; }
show "govshare api POST $GW/v1/applications --token \$AMR_ADMIN --data '{...社会保险参保信息, purpose market-supervision...}'"
APP=$(gs api POST "$GW/v1/applications" --token "$AMR_ADMIN" --data "{\"systemId\":\"registration\",\"resourceCode\":\"301001/000001\",\"items\":[\"idNumber\",\"name\",\"insuranceType\",\"status\",\"monthlyBase\"],\"purposes\":[\"market-supervision\"],\"reason\":\"核查企业为员工缴纳社会保险情况（双随机抽查）\",\"modes\":[\"api\"],\"validTo\":\"$VALID_TO\"}" | json 'v.id+" "+v.state+" (normative check due "+(v.stages?.at(-1)?.dueDate??"?")+", 3 working days)"')
echo "application $APP"
APP_ID=${APP%% *}
show "govshare api POST $GW/v1/applications/$APP_ID/check --token \$BUREAU --data '{\"outcome\":\"accept\"}'"
gs api POST "$GW/v1/applications/$APP_ID/check" --token "$BUREAU" --data '{"outcome":"accept"}' | json '"state: "+v.state'
show "govshare api POST $GW/v1/applications/$APP_ID/authorize --token \$HRSS_ADMIN --data '{\"items\":[\"idNumber\",\"insuranceType\",\"status\"],...}'"
gs api POST "$GW/v1/applications/$APP_ID/authorize" --token "$HRSS_ADMIN" --data '{"items":["idNumber","insuranceType","status"],"quota":{"perDay":5000},"reason":"缴费基数和姓名不属于核查所需"}' | json '"state: "+v.application.state+", grant "+v.grant.id+" with items "+v.grant.items.join(",")'
echo "a first call is refused: the resource carries a data-use agreement not yet accepted"
gs call GET "$GW/v1/data/301001%2F000001?idNumber=$ID" "${AMR[@]}" --purpose market-supervision --user-id wang.keyuan --quiet || true
echo "AMR's dept-admin accepts the terms of use and confidentiality undertaking, version 2026-1 (person and time recorded)"
show "govshare api POST $GW/v1/catalog/301001%2F000001/terms/acceptances --token \$AMR_ADMIN --data '{\"version\":\"2026-1\"}'"
gs api POST "$GW/v1/catalog/301001%2F000001/terms/acceptances" --token "$AMR_ADMIN" --data '{"version":"2026-1"}' | json '"accepted version "+v.version+" by "+v.acceptedBy.name+" at "+v.acceptedAt'
show "govshare call GET '$GW/v1/data/301001%2F000001?idNumber=$ID' $AMR_TEXT --purpose market-supervision --user-id wang.keyuan"
gs call GET "$GW/v1/data/301001%2F000001?idNumber=$ID" "${AMR[@]}" --purpose market-supervision --user-id wang.keyuan || true

step "6. a bulk export: the bureau grants bulk access, the system runs a signed, encrypted export of 100,000 residents"
gs api POST "$GW/v1/grants" --token "$BUREAU" --data "{\"basis\":\"《湖北省政务信息资源共享管理办法》第二十一条：无条件共享资源由平台直接授权\",\"deptCode\":\"${DEPT[amr]}\",\"systemId\":\"registration\",\"resourceCode\":\"101001/000001\",\"items\":[\"idNumber\",\"name\",\"gender\",\"birthDate\",\"divisionCode\"],\"purposes\":[\"market-supervision\"],\"modes\":[\"api\",\"bulk\"],\"validTo\":\"$VALID_TO\",\"quota\":{\"perMinute\":600,\"perDay\":100000}}" | json '"grant "+v.id+" modes "+v.modes.join(",")'
show "govshare exchange run $GW $AMR_TEXT --purpose market-supervision --user-id wang.keyuan --resource 101001/000001 --out $DEMO/residents.jsonl"
gs exchange run "$GW" "${AMR[@]}" --purpose market-supervision --user-id wang.keyuan --resource 101001/000001 --out "$DEMO/residents.jsonl" || true
head -n 2 "$DEMO/residents.jsonl" 2>/dev/null || true

step "the audit trail: who looked up this citizen (the ID number is hashed, never stored in clear)"
show "govshare api GET '$GW/v1/audit?subject=$ID' --token \$AUDITOR"
gs api GET "$GW/v1/audit?subject=$ID&limit=10" --token "$AUDITOR" \
  | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{for(const r of JSON.parse(s).records)console.log([r.time,r.actor.systemId??'-',r.resource??'-',r.action,r.decision,r.reasonCode??'',r.status,'purpose='+(r.purpose??'-'),'user='+(r.actor.userId??'-')].join('  '))})"
show "govshare audit verify"
gs audit verify

step "7. an inclusion proof: the record of a lookup of this citizen, proven to be in the signed trail, checked offline with only the CA"
REQ=$(gs api GET "$GW/v1/audit?subject=$ID&resource=101001/000001&decision=allow&limit=1" --token "$AUDITOR" | json 'v.records[0].requestId')
show "govshare api GET $GW/v1/audit/$REQ/proof --token \$AUDITOR > $DEMO/proof.json"
# A checkpoint covers a record within 10 s (or 1000 records); until then the proof is 409 AUDIT_PROOF_PENDING.
for _ in $(seq 1 30); do
  gs api GET "$GW/v1/audit/$REQ/proof" --token "$AUDITOR" > "$DEMO/proof.json" 2>/dev/null && break
  sleep 1
done
json '"record seq "+v.seq+" of "+v.instance+", leaf "+v.leafIndex+" of a tree of "+v.treeSize+", audit path of "+v.proof.length+" hashes"' < "$DEMO/proof.json"
show "govshare audit verify-proof $DEMO/proof.json --ca $DEMO/systems/amr/ca.pem"
gs audit verify-proof "$DEMO/proof.json" --ca "$DEMO/systems/amr/ca.pem"

step "8. citizen transparency: the city's 一网通办 portal asks, for a resident it verified, who used their record"
PORTAL_DEPT=114201000100022026
gs dept add --code "$PORTAL_DEPT" --name 武汉市政务服务和大数据管理局
gs system add --dept "$PORTAL_DEPT" --id citizen-portal --name 一网通办市民门户
gs cert issue --dept "$PORTAL_DEPT" --system citizen-portal --out "$DEMO/systems/portal" > /dev/null
show "govshare api PUT $GW/v1/departments/$PORTAL_DEPT/systems/citizen-portal/role --token \$BUREAU --data '{\"role\":\"portal\"}'"
gs api PUT "$GW/v1/departments/$PORTAL_DEPT/systems/citizen-portal/role" --token "$BUREAU" --data '{"role":"portal"}' | json '"system "+v.systemId+" of "+v.deptCode+": role "+v.role'
echo "meanwhile HRSS looks the citizen up under a grant flagged for an investigation (withheld from the citizen for 90 days):"
gs api POST "$GW/v1/grants" --token "$BUREAU" --data "{\"deptCode\":\"${DEPT[hrss]}\",\"systemId\":\"insurance-service\",\"resourceCode\":\"101001/000001\",\"items\":[\"idNumber\",\"name\"],\"purposes\":[\"fraud-investigation\"],\"modes\":[\"api\"],\"validTo\":\"$VALID_TO\",\"investigation\":true,\"basis\":\"《政务信息资源共享管理办法》第二十一条\"}" | json '"grant "+v.id+" investigation "+v.investigation'
gs call GET "$GW/v1/data/$POP?idNumber=$ID" --key "$DEMO/systems/hrss/key.pem" --cert "$DEMO/systems/hrss/cert.pem" --purpose fraud-investigation --user-id zhao.jing --case-id JC-2026-0042 --quiet > /dev/null || true
PORTAL=(--key "$DEMO/systems/portal/key.pem" --cert "$DEMO/systems/portal/cert.pem")
PORTAL_TEXT="--key '$DEMO/systems/portal/key.pem' --cert '$DEMO/systems/portal/cert.pem'"
show "govshare call GET '$GW/v1/transparency/uses?limit=10' $PORTAL_TEXT --purpose citizen-transparency --user-id portal-session-5f2c --subject-id $ID   # the ID number only in a signed header"
gs call GET "$GW/v1/transparency/uses?limit=10" "${PORTAL[@]}" --purpose citizen-transparency --user-id portal-session-5f2c --subject-id "$ID" \
  | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{for(const u of JSON.parse(s).uses)console.log([u.time,u.department.name??u.department.code,u.systemId??'-',u.resource??'-','purpose='+(u.purpose??'-'),'case='+(u.caseId??'-'),u.decision+(u.reasonCode?' '+u.reasonCode:'')].join('  '))})" || true
echo "(HRSS's lookup under the investigation grant is not listed: the citizen sees it once 90 days have passed)"
show "govshare call GET '$GW/v1/transparency/uses' $AMR_TEXT --purpose market-supervision --user-id wang.keyuan --subject-id $ID   # not a portal"
gs call GET "$GW/v1/transparency/uses" "${AMR[@]}" --purpose market-supervision --user-id wang.keyuan --subject-id "$ID" --quiet || true
echo "the portal's queries are audited too, under the citizen's hash:"
gs api GET "$GW/v1/audit?subject=$ID&limit=3" --token "$AUDITOR" \
  | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{for(const r of JSON.parse(s).records)console.log([r.time,r.actor.systemId??'-',r.action,r.decision,r.reasonCode??'',r.status,'user='+(r.actor.userId??'-')].join('  '))})"

step "console accounts: a department administrator (password) and a bureau reviewer (password + TOTP)"
node -e "process.stdout.write(require('crypto').randomBytes(12).toString('base64url'))" > "$DEMO/console-password"
chmod 600 "$DEMO/console-password"
CONSOLE_PASSWORD=$(cat "$DEMO/console-password")
gs user add --name li.na --display-name 李娜 --role dept-admin --dept 11420100010001138Y --password-file "$DEMO/console-password"
gs user add --name zhao.lei --display-name 赵磊 --role bureau --password-file "$DEMO/console-password"

cat <<EOM

govshare is running:
  gateway        $GW          (OpenAPI: $GW/docs)
  console        $GW/console/  sign in as li.na (or zhao.lei with the TOTP code above), password $CONSOLE_PASSWORD
  simulator      $SIM_URL
  redis          $GOVSHARE_REDIS_URL
  platform data  $GOVSHARE_DATA_DIR
  certificates   $DEMO/systems/{psb,amr,hrss,portal}/
  logs           $LOGS/

Try, in another shell (same directory):
  export GOVSHARE_REDIS_URL=$GOVSHARE_REDIS_URL GOVSHARE_DATA_DIR=$GOVSHARE_DATA_DIR GOVSHARE_REDIS_PREFIX=$GOVSHARE_REDIS_PREFIX
  node dist/gateway/cli/bin.js call GET '$GW/v1/data/$POP?idNumber=$ID' $AMR_TEXT --purpose market-supervision --user-id wang.keyuan
  node dist/gateway/cli/bin.js audit verify
EOM

if [ "$NO_WAIT" = 1 ]; then exit 0; fi
echo "Press Ctrl-C to stop everything the demo started."
while true; do sleep 3600; done
