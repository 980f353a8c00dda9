#!/usr/bin/env bash
# PitchFast API demo, with nothing but curl (and grep and sed to read the answers):
# create a campaign and a lead, request an audit, poll its run, read the result and
# publish it. Make a key first:  pitchfast keys create demo --scope write
#
#   PITCHFAST_KEY=pf_… scripts/api-demo.sh https://example.com/ [http://127.0.0.1:5000]
set -euo pipefail

site=${1:?usage: PITCHFAST_KEY=pf_... $0 WEBSITE [BASE_URL]}
base=${2:-${PITCHFAST_URL:-http://127.0.0.1:5000}}
api="${base%/}/api/v1"
: "${PITCHFAST_KEY:?set PITCHFAST_KEY to a key made with: pitchfast keys create NAME --scope write}"

headers=$(mktemp)
trap 'rm -f "$headers"' EXIT

call() {  # call METHOD PATH [JSON]: prints the body; fails with the API's error message
  local method=$1 path=$2 body=${3:-}
  local args=(-sS -X "$method" -H "Authorization: Bearer $PITCHFAST_KEY" -D "$headers"
              -w '\n%{http_code}')
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data "$body")
  local out code
  out=$(curl "${args[@]}" "$api$path")
  code=${out##*$'\n'}
  out=${out%$'\n'*}
  if [ "${code:0:1}" != 2 ]; then
    echo "$method $path → HTTP $code: $out" >&2
    return 1
  fi
  printf '%s\n' "$out"
}

field() {  # field NAME: the first "NAME": value of the JSON on stdin (string or number)
  # grep -o lists every match in order, so head takes the first one, outermost first in
  # the answers below (a nested object's "id", e.g. a run's subject, comes after its own)
  grep -o "\"$1\": *\"\{0,1\}[^\",}]*" | head -n1 | sed "s/^\"$1\": *\"\{0,1\}//"
}

location_id() {  # the id at the end of the last answer's Location header
  sed -n 's|^[Ll]ocation: .*/\([0-9][0-9]*\)[[:space:]]*$|\1|p' "$headers" | tail -n1
}

stamp=$(date +%s)
slug=$(call POST /campaigns "{\"name\": \"API demo $stamp\"}" | field slug)
echo "campaign: $slug"

call POST "/campaigns/$slug/leads" \
  "{\"business_name\": \"Demo business\", \"website\": \"$site\"}" >/dev/null
lead=$(location_id)  # /api/v1/leads/<id>
echo "lead: $lead"

call POST "/leads/$lead/audits" >/dev/null
run=$(location_id)  # /api/v1/runs/<id> (the answer's "subject" holds the lead's id too)
echo "audit requested: run $run"

status=pending
for _ in $(seq 1 120); do
  answer=$(call GET "/runs/$run")
  status=$(printf '%s' "$answer" | field status)
  case $status in succeeded|failed|canceled) break ;; esac
  sleep 2
done
echo "run $run: $status"
[ "$status" = succeeded ] || { printf '%s\n' "$answer" >&2; exit 1; }

audit=$(printf '%s' "$answer" | field audit_id)
result=$(call GET "/audits/$audit")
echo "audit $audit: overall score $(printf '%s' "$result" | field overall)," \
     "opportunity $(printf '%s' "$result" | field opportunity)"
shot=$(printf '%s' "$result" | grep -o 'http[^"]*/api/v1/files/[^"]*' | head -n1)
if [ -n "$shot" ]; then
  curl -sS -f -H "Authorization: Bearer $PITCHFAST_KEY" -o /dev/null \
    -w "screenshot: %{content_type}, %{size_download} bytes ($shot)\n" "$shot"
fi

url=$(call POST "/audits/$audit/publish" | field public_url)
echo "published: $url"
