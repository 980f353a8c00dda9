#!/usr/bin/env bash
# PitchFast API demo, with nothing but curl (and sed to read the answers):
# create a campaign and a lead, request an audit, poll its run, read the result and
# publish it. Make a key first:  pitchfast keys create demo --scope write
#
#   PITCHFAST_KEY=pf_… scripts/api-demo.sh https://example.com/ [http://127.0.0.1:5000]
set -euo pipefail

site=${1:?usage: PITCHFAST_KEY=pf_... $0 WEBSITE [BASE_URL]}
base=${2:-${PITCHFAST_URL:-http://127.0.0.1:5000}}
api="${base%/}/api/v1"
: "${PITCHFAST_KEY:?set PITCHFAST_KEY to a key made with: pitchfast keys create NAME --scope write}"

call() {  # call METHOD PATH [JSON]: prints the body; fails with the API's error message
  local method=$1 path=$2 body=${3:-}
  local args=(-sS -X "$method" -H "Authorization: Bearer $PITCHFAST_KEY" -w '\n%{http_code}')
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
  sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",}]*\)\"\{0,1\}.*/\1/p" | head -n1
}

stamp=$(date +%s)
slug=$(call POST /campaigns "{\"name\": \"API demo $stamp\"}" | field slug)
echo "campaign: $slug"

lead=$(call POST "/campaigns/$slug/leads" \
  "{\"business_name\": \"Demo business\", \"website\": \"$site\"}" | field id)
echo "lead: $lead"

run=$(call POST "/leads/$lead/audits" | field id)
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
