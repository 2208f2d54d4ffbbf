#!/bin/bash
# scan_acceptance.sh - the issue's acceptance run: a 60-sheet duplex stack through
# the eSCL emulator (escl/, scripts/escl.sh) and SANE's real escl backend with
# source "ADF Duplex", scanned by mailroom-scan as one batch:
#   - 9 documents, each after a separator sheet printed by `mailroom sheets`
#     (sequence numbers 1-9; the first presets type rechnung and office kaemmerei)
#   - 61 text pages rendered from the German sample letters (groff, ghostscript),
#     each different; most backsides empty with scanner noise, dust and edges,
#     4 with nothing but a handwritten initial, 10 with text
#   - two pages upside down (a front and a back)
#   - a jam when sheet 16 is picked and an open cover at sheet 35; the operator
#     clears each (scripts/escl.sh clear) and continues through the control FIFO
# Asserted: the right 9 letters with the right pages in the right order (each
# page matched to its stack image by pixels), the upside-down pages recorded as
# turned by 180 degrees and stored upright, empty backsides dropped with their
# images kept and initials flagged, the separators consumed (and their numbers
# and presets recorded), both faults in the batch record and in the letters'
# capture metadata with the re-fed sheets, every side served once by the scanner
# (served.log: nothing lost or doubled). Then a short simplex stack with a
# separator out of sequence and one whose code cannot be read: the batch is held
# for review, nothing submitted. Pages are served as JPEG (the escl
# backend of sane-backends 1.2.1 turns PNG pages upside down) in Gray (arrives as
# RGB frames), 150 dpi.
. "$(dirname "$0")/lib.sh"
set +e
PT=$MAILROOM_BIN/../tests/scan_pagetool
t() { eval "$1"; } # t 'CONDITION': for check with a compound condition
PAGEC=$MAILROOM_BIN/../tests/scan_pagecheck
ESCL_SH=$MAILROOM_SOURCE/scripts/escl.sh
ESCL_SO=""
for d in /usr/lib/x86_64-linux-gnu/sane /usr/lib/*/sane /usr/lib/sane /usr/lib64/sane; do
	[ -e "$d/libsane-escl.so.1" ] && { ESCL_SO=$d/libsane-escl.so.1; break; }
done
[ -n "$ESCL_SO" ] || { echo "SKIP: SANE's escl backend (libsane-escl.so.1) is not installed"; exit 77; }
for t in gs groff jq; do command -v $t >/dev/null || { echo "SKIP: $t is not installed"; exit 77; }; done
[ -s /usr/share/tesseract-ocr/5/tessdata/osd.traineddata ] ||
	{ echo "SKIP: tesseract-ocr-osd is not installed"; exit 77; }
trap 'sh "$ESCL_SH" stop "$VAR" >/dev/null 2>&1; cleanup' EXIT
IN=$VAR/spool/classify/incoming
BATCHES=$VAR/spool/scan/batches
S=$T/stack
R=$T/ref
mkdir -p "$S" "$R"
t_start=$(date +%s)

# ---- the stack ----
# Sheet plan: S<n> a separator; otherwise FRONT:BACK with t text, u text upside
# down, b empty back, i a back with only a handwritten initial.
PLAN=(S1 t:b t:t t:b t:i t:b
	S2 t:b t:b t:t t:b
	S3 t:b t:b t:t t:b t:b t:i t:b
	S4 t:b t:b t:b u:b t:t t:b
	S5 t:t t:b t:b
	S6 t:b t:i t:b t:b t:t t:b t:b t:b
	S7 t:b t:t t:u t:b t:b t:b
	S8 t:b t:t t:b t:i t:b
	S9 t:b t:t t:b t:b t:t t:b t:t)
JAM=16
COVER=35
[ ${#PLAN[@]} -eq 60 ] || { echo "FAIL: the plan has ${#PLAN[@]} sheets" >&2; exit 1; }
ntext=0
for p in "${PLAN[@]}"; do
	case $p in S*) ;; *) for x in ${p%:*} ${p#*:}; do case $x in t | u) ntext=$((ntext + 1)) ;; esac; done ;; esac
done

# the text pages: unique pages (header, a large label at a varying height, and
# paragraphs of varying length from the words of samples/letters), one PostScript
# document rendered by ghostscript at 150 dpi, anti-aliased as a scanner's optics
# blur the paper (without, OSD's confidence on 150 dpi pages drops to 4-7)
words=$(grep -hv '^==$' "$MAILROOM_SOURCE"/samples/letters/*.txt | tr -s ' \n' '  ')
read -r -a W <<<"$words"
nw=${#W[@]}
{
	printf '.pl 29.7c\n.po 2.5c\n.ll 16.5c\n.fam H\n.ad b\n'
	for k in $(seq 1 $ntext); do
		[ "$k" -gt 1 ] && printf '.bp\n'
		printf '.sp 1c\n.ps 9\n.vs 11p\n.nf\nStadt Musterstadt \\(em Testakte, Textseite %d\n.fi\n' "$k"
		printf '.sp %d.%dc\n.ps 26\n.vs 30p\n.ft B\nSeite %d\n.ft R\n.ps 11\n.vs 14p\n.sp 0.6c\n' \
			$(((k * 7) % 5)) $(((k * 3) % 10)) "$k"
		off=$(((k * 97) % nw))
		for para in 1 2 3 4 5; do
			len=$((25 + (k * 13 + para * 29) % 60))
			line=""
			for j in $(seq 0 $((len - 1))); do
				line="$line ${W[$(((off + j) % nw))]}"
			done
			off=$(((off + len) % nw))
			printf '\\&%s\n.sp 0.5c\n' "${line# }" | sed 's/\\\([^&]\)/\\e\1/g'
		done
	done
} >"$T/text.tr"
groff -Kutf8 -Tps -P-pa4 "$T/text.tr" >"$T/text.ps" 2>"$T/groff.err" &&
	gs -q -dBATCH -dNOPAUSE -dSAFER -sDEVICE=pgmraw -r150 -dTextAlphaBits=4 -dGraphicsAlphaBits=4 \
		-sOutputFile="$R/c%03d.pgm" "$T/text.ps"
check "$ntext text pages rendered" [ "$(count "$R/c*.pgm")" -eq "$ntext" ]

# separator sheets from `mailroom sheets`, 300 dpi PNG (the emulator scales them)
mailroom sheets --batch ACC-1 --start 1 --count 1 --type rechnung --office kaemmerei --png "$T/sep" >/dev/null &&
	mailroom sheets --batch ACC-1 --start 2 --count 8 --png "$T/sep" >/dev/null
check "9 separator sheets printed" [ "$(count "$T/sep/*.png")" -eq 9 ]
gs -q -dBATCH -dNOPAUSE -dSAFER -sDEVICE=pgmraw -r150 -sOutputFile="$R/white.pgm" \
	-c "<< /PageSize [595 842] >> setpagedevice showpage"

# the stack manifest and the expected documents (labels of the pages in order)
: >"$S/stack.list"
: >"$T/refs"
expect=()
doc=-1
k=0
ni=0
nb=0
side_img() { # side_img SHEET SIDE KIND: the image of one side; its label in LAB
	local sheet=$1 side=$2 kind=$3 img lab seed
	seed=$((sheet * 2))
	[ "$side" = b ] && seed=$((seed + 1))
	case $kind in
	t | u)
		k=$((k + 1))
		lab=$(printf 'c%03d' $k)
		img=$R/$lab.pgm
		echo "$lab $img" >>"$T/refs"
		if [ "$kind" = u ]; then
			"$PT" prep "$img" "$S/$sheet$side.pgm" --rotate 180 --dpi 150
			echo "$lab-upside-down $S/$sheet$side.pgm" >>"$T/refs"
			img=$S/$sheet$side.pgm
		fi
		;;
	i)
		ni=$((ni + 1))
		lab=i$ni
		printf '%%!PS\n<< /PageSize [595 842] >> setpagedevice\n%d %d translate 0.1 setgray 1.1 setlinewidth 1 setlinecap 1 setlinejoin\n0 0 moveto 3 22 7 26 9 8 curveto 11 -10 14 26 18 18 curveto 21 10 22 0 24 -1 curveto stroke\n26 2 moveto 32 0 38 6 44 3 curveto stroke\nshowpage\n' \
			$((60 + ni * 90)) $((120 + ni * 130)) >"$T/$lab.ps"
		gs -q -dBATCH -dNOPAUSE -dSAFER -sDEVICE=pgmraw -r150 -dGraphicsAlphaBits=4 \
			-sOutputFile="$T/$lab.pgm" "$T/$lab.ps"
		"$PT" prep "$T/$lab.pgm" "$R/$lab.pgm" --scanner $seed --dpi 150
		img=$R/$lab.pgm
		echo "$lab $img" >>"$T/refs"
		;;
	b)
		nb=$((nb + 1))
		lab=b$sheet
		img=$S/b$sheet.pgm
		"$PT" prep "$R/white.pgm" "$img" --scanner $seed --dpi 150
		;;
	esac
	echo "$img" >>"$S/stack.list"
	LAB=$lab
}
for i in "${!PLAN[@]}"; do
	sheet=$((i + 1))
	p=${PLAN[$i]}
	case $p in
	S*)
		n=${p#S}
		echo "$T/sep/trennblatt-ACC-1-$(printf %06d "$n").png" >>"$S/stack.list"
		echo "$R/white.pgm" >>"$S/stack.list"
		doc=$((doc + 1))
		expect[$doc]=""
		continue
		;;
	esac
	side_img $sheet f "${p%:*}"
	f=$LAB
	side_img $sheet b "${p#*:}"
	b=$LAB
	expect[$doc]="${expect[$doc]} ${sheet}f=$f"
	case ${p#*:} in b) ;; *) expect[$doc]="${expect[$doc]} ${sheet}b=$b" ;; esac
done
check "the stack: 120 sides" [ "$(wc -l <"$S/stack.list")" -eq 120 ]
check "$ntext text pages, $ni backs with an initial, $nb empty backs" \
	t '[ $k -eq $ntext ] && [ $ni -eq 4 ] && [ $((ntext + ni + nb)) -eq 102 ]' 
t_stack=$(date +%s)

# ---- the scan ----
sed -i '/^  depth: /d; s/^  timeout_seconds: .*/  timeout_seconds: 30/; s/^  cancel_seconds: .*/  cancel_seconds: 3/' \
	"$CONF/scan.yaml"
DEV=$(sh "$ESCL_SH" start "$VAR" "$S/stack.list" --dpi 150 --formats jpeg \
	--jam-at $JAM --cover-open-at $COVER) || { echo "FAIL: scripts/escl.sh start" >&2; exit 1; }
events() { grep "\"event\":\"$1\"" "$T/ev.json"; }
wait_event() { # wait_event N: up to 150 s for the N-th fault event (or the end)
	local i
	for i in $(seq 1500); do
		[ "$(events fault 2>/dev/null | wc -l)" -ge "$1" ] && return 0
		kill -0 "$P" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
t0=$(date +%s.%N)
SANE_CONFIG_DIR=$VAR/sane ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	"$MAILROOM_BIN/mailroom-scan" -c "$CONF" --sane "$DEV" --batch --source "ADF Duplex" \
	--mode Gray --resolution 150 --separation separator --on-fault wait-for-resume \
	--control "$T/ctl" --operator op-acceptance --json </dev/null >"$T/ev.json" 2>"$T/err" &
P=$!
wait_event 1
check "fault 1: the jam at sheet $JAM (front), waiting for the operator" \
	[ "$(events fault | sed -n 1p | jq -r '"\(.status) \(.sheet) \(.side) \(.waiting)"')" = "JAMMED $JAM front true" ]
check "the operator is told to clear the jam and re-feed sheet $JAM" \
	grep -q "Papierstau bei Blatt $JAM: Stau beheben, Blatt $JAM und folgende wieder einlegen" "$T/err"
sh "$ESCL_SH" clear "$VAR" >/dev/null
echo continue >"$T/ctl"
wait_event 2
check "fault 2: the open cover at sheet $COVER (front)" \
	[ "$(events fault | sed -n 2p | jq -r '"\(.status) \(.sheet) \(.side)"')" = "COVER_OPEN $COVER front" ]
sh "$ESCL_SH" clear "$VAR" >/dev/null
echo continue >"$T/ctl"
wait $P
rc=$?
t1=$(date +%s.%N)
check "mailroom-scan: exit 0" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tail -20 "$T/err" >&2
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
B=$(ls "$BATCHES" 2>/dev/null | head -1)
REC=$BATCHES/$B/batch.json
check "the batch record is in spool/scan/batches" [ -s "$REC" ]
rec() { jq -r "$1" "$REC"; }

# ---- the documents ----
check "batch state submitted, 60 sheets, duplex, separation separator" \
	[ "$(rec '"\(.state) \(.sheets) \(.duplex) \(.separation)"')" = "submitted 60 true separator" ]
check "9 documents, 9 letters in classify" \
	t '[ "$(rec ".documents | length")" = 9 ] && [ "$(count "$IN/*")" -eq 9 ]' 
: >"$T/letters"
for d in $(seq 0 8); do
	L=$(rec ".documents[$d].letter")
	echo "$L" >>"$T/letters"
	J=$IN/$L/job.json
	want=$(for e in ${expect[$d]}; do echo "${e%%=*}"; done | tr '\n' ' ')
	got=$(jq -r '[.capture.pages[] | "\(.sheet)\(.side | .[0:1])"] | join(" ")' "$J" 2>/dev/null)
	check "letter $((d + 1)): sheets and sides in order ($got)" [ "$got " = "$want" ]
	# pixels: each page of scan.tiff is the stack image expected there
	"$PT" match "$T/refs" "$IN/$L/scan.tiff" >"$T/match$d" 2>&1
	wantl=$(for e in ${expect[$d]}; do echo "${e#*=}"; done | tr '\n' ' ')
	gotl=$(awk '{print $3}' "$T/match$d" | tr '\n' ' ')
	check "letter $((d + 1)): every page is its stack image, by pixels" [ "$gotl" = "$wantl" ]
	[ "$gotl" = "$wantl" ] || cat "$T/match$d" >&2
	check "letter $((d + 1)): page digests as the sign stage computes them" "$PAGEC" "$IN/$L" >/dev/null
	check "letter $((d + 1)): separator no. $((d + 1)) of batch ACC-1 recorded" \
		[ "$(jq -r '.capture.batch.separator | "\(.number) \(.batch) \(.sheet)"' "$J")" = "$((d + 1)) ACC-1 $(rec ".documents[$d].separator_sheet")" ]
done
worst=$(awk '{print $4}' "$T"/match* | sort -g | tail -1)
closest=$(awk '{print $5}' "$T"/match* | sort -g | head -1)
check "pixel match: worst difference $worst, nearest other page $closest (a clear margin)" \
	awk -v a="$worst" -v b="$closest" 'BEGIN { exit !(a < 3 && b > 3 * a) }'
L1=$IN/$(sed -n 1p "$T/letters")/job.json
check "the first separator's presets: type rechnung, office kaemmerei" \
	[ "$(jq -r '.capture.batch.separator | "\(.doc_type) \(.office)"' "$L1")" = "rechnung kaemmerei" ]
check "the separators consumed: both sides of sheets 1 7 12 20 27 31 40 47 53" \
	[ "$(rec '[.pages[] | select(.role == "separator") | "\(.sheet)\(.side | .[0:1])"] | join(" ")')" = \
		"1f 1b 7f 7b 12f 12b 20f 20b 27f 27b 31f 31b 40f 40b 47f 47b 53f 53b" ]
check "... their codes valid, numbers 1 to 9" \
	[ "$(rec '[.pages[] | select(.role == "separator" and .side == "front") | "\(.separator.valid):\(.separator.number)"] | join(" ")')" = \
		"true:1 true:2 true:3 true:4 true:5 true:6 true:7 true:8 true:9" ]

# ---- rotation, blank pages ----
check "two pages turned by 180 degrees: sheet 24 front, sheet 43 back" \
	[ "$(rec '[.pages[] | select(.rotation != 0) | "\(.sheet)\(.side | .[0:1]):\(.rotation)"] | join(" ")')" = "24f:180 43b:180" ]
rot=$(cat "$T/letters" | while read -r l; do jq -r '.capture.pages[] | select(.rotation != 0) | "\(.sheet)\(.side | .[0:1]):\(.rotation):\(.rotation_conf)"' "$IN/$l/job.json"; done | tr '\n' ' ')
check "... recorded in the letters with OSD's confidence ($rot)" \
	sh -c "echo '$rot' | grep -Eq '^24f:180:[0-9.]+ 43b:180:[0-9.]+ \$'"
check "... and an anomaly for the Transfervermerk" \
	[ "$(cat "$T/letters" | while read -r l; do jq -r '.capture.anomalies[] | select(.text | test("gedreht")) | .text' "$IN/$l/job.json"; done | wc -l)" -eq 2 ]
check "every other page stays as scanned (rotation 0)" \
	[ "$(rec '[.pages[] | select(.role == "page" and .rotation == 0)] | length')" -eq $((ntext + ni - 2)) ]
up=$(cat "$T/letters" | while read -r l; do jq -r '.capture.pages[] | select(.rotation == 0 and .blank == "keep") | .rotation_conf > 0' "$IN/$l/job.json"; done | sort | uniq -c | tr -s ' ')
check "... the text pages confirmed upright by OSD (rotation_conf > 0: $up)" [ "$up" = " $((ntext - 2)) true" ]
want_drop=$(for i in "${!PLAN[@]}"; do case ${PLAN[$i]} in *:b) printf '%db ' $((i + 1)) ;; esac; done)
check "the $nb empty backs dropped, nothing else" \
	[ "$(rec '[.pages[] | select(.role == "dropped") | "\(.sheet)\(.side | .[0:1]) "] | join("")')" = "$want_drop" ]
nd=0
bad_img=0
for l in $(cat "$T/letters"); do
	for f in $(jq -r '.capture.dropped[].image' "$IN/$l/job.json"); do
		nd=$((nd + 1))
		[ -s "$VAR/$f" ] || bad_img=$((bad_img + 1))
	done
done
check "the letters record the $nd dropped pages with their kept images" t '[ $nd -eq $nb ] && [ $bad_img -eq 0 ]' 
check "4 backs with an initial: flagged, kept in their letters" \
	[ "$(rec '[.pages[] | select(.blank == "flag") | "\(.sheet)\(.side | .[0:1]):\(.role)"] | join(" ")')" = "5b:page 18b:page 33b:page 51b:page" ]
check "... each with an anomaly for review" \
	[ "$(cat "$T/letters" | while read -r l; do jq -r '.capture.anomalies[] | select(.text | test("fast leer")) | .text' "$IN/$l/job.json"; done | wc -l)" -eq 4 ]
check "text pages are kept, not flagged" \
	[ "$(rec '[.pages[] | select(.role == "page" and .blank == "keep")] | length')" -eq "$ntext" ]

# ---- faults ----
check "the batch record: JAMMED at $JAM and COVER_OPEN at $COVER, both resumed" \
	[ "$(rec '[.faults[] | "\(.status)@\(.sheet)\(.side | .[0:1]):\(.outcome):\(.discarded_frames)"] | join(" ")')" = \
		"JAMMED@${JAM}f:resumed:0 COVER_OPEN@${COVER}f:resumed:0" ]
check "sheets $JAM and $COVER were fed a second time, every other sheet once" \
	[ "$(rec '[.pages[] | select(.attempt != 1) | "\(.sheet)\(.side | .[0:1]):\(.attempt)"] | join(" ")')" = \
		"${JAM}f:2 ${JAM}b:2 ${COVER}f:2 ${COVER}b:2" ]
check "every side of sheets 1-60 once in the batch record, nothing superseded" \
	[ "$(rec '[.pages[] | "\(.sheet)\(.side | .[0:1])"] | join(" ")')" = "$(for s in $(seq 60); do printf '%sf %sb ' $s $s; done | sed 's/ $//')" ]
for pair in "$JAM JAMMED Papierstau" "$COVER COVER_OPEN Abdeckung"; do
	set -- $pair
	d=$(rec ".pages[] | select(.sheet == $1 and .side == \"front\") | .document")
	J=$IN/$(rec ".documents[$((d - 1))].letter")/job.json
	check "the letter with sheet $1 records the $2 fault and the re-feed" \
		sh -c "jq -e '.capture.faults[] | select(.status == \"$2\" and .sheet == $1)' '$J' >/dev/null && jq -e '.capture.anomalies[] | select(.text | test(\"Blatt $1 nach Störung \\\\($3\"))' '$J' >/dev/null"
done
others=$(for l in $(cat "$T/letters"); do jq -r '.capture.faults | length' "$IN/$l/job.json"; done | tr '\n' ' ')
check "the other letters have no fault ($others)" [ "$others" = "0 0 1 0 0 1 0 0 0 " ]
check "JSON events: 120 pages, 9 documents, 2 faults, 2 resumes, 1 end" \
	[ "$(events page | wc -l) $(events document | wc -l) $(events fault | wc -l) $(events resume | wc -l) $(events batch-end | wc -l)" = "120 9 2 2 1" ]
check "the journal: 9 letters captured from batch $B" \
	[ "$(sql "select count(*) from events where action='captured' and detail like '%batch $B, document %'")" -eq 9 ]

# ---- the scanner's side: nothing lost or doubled ----
served=$(grep ' served$' "$VAR/escl/served.log")
want=$(for s in $(seq 60); do printf 'sheet %d side front served\nsheet %d side back served\n' $s $s; done)
check "served.log: every side of sheets 1-60 delivered exactly once, in order" [ "$served" = "$want" ]
check "served.log: the jam at $JAM and the open cover at $COVER" \
	t 'grep -q "sheet $JAM jammed" "$VAR/escl/served.log" && grep -q "sheet $COVER: feeder cover opened" "$VAR/escl/served.log"' 
check "served.log: no image fetched and not delivered" [ "$(grep -c 'NOT delivered' "$VAR/escl/served.log")" -eq 0 ]

# ---- plausibility: a separator out of sequence and an unreadable one ----
sh "$ESCL_SH" stop "$VAR" >/dev/null
: >"$VAR/escl/served.log"
mailroom sheets --batch ACC-2 --start 1 --count 1 --png "$T/sep2" >/dev/null &&
	mailroom sheets --batch ACC-2 --start 3 --count 1 --png "$T/sep2" >/dev/null
"$PT" qr "MAILROOM-SEP/2;batch=ACC-2;sheet=4" "$T/sep2/v2.png"
printf '%s\n' "$T/sep2/trennblatt-ACC-2-000001.png" "$R/c001.pgm" "$T/sep2/trennblatt-ACC-2-000003.png" \
	"$R/c002.pgm" "$T/sep2/v2.png" "$R/c003.pgm" >"$S/stack2.list"
# small_batch N SEPARATION: the stack $S/stackN.list through a fresh emulator into
# its own var ($T/varN), simplex ADF, gray, 150 dpi, stop at a fault; sets rc.
small_batch() {
	DEV=$(sh "$ESCL_SH" start "$VAR" "$S/stack$1.list" --dpi 150 --formats jpeg) ||
		{ echo "FAIL: scripts/escl.sh start" >&2; exit 1; }
	rc=0
	SANE_CONFIG_DIR=$VAR/sane MAILROOM_VAR=$T/var$1 ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		"$MAILROOM_BIN/mailroom-scan" -c "$CONF" --sane "$DEV" --batch --source ADF --mode Gray \
		--resolution 150 --separation "$2" --on-fault stop </dev/null >"$T/out$1" 2>"$T/err$1" || rc=$?
}
small_batch 2 separator
V2=$T/var2
check "separators out of sequence and unreadable: the batch is held (exit 65)" [ $rc -eq 65 ]
H=$(ls "$V2/spool/scan/corrupt" 2>/dev/null | head -1)
check "... in spool/scan/corrupt with QUARANTINE.txt, no letter submitted" \
	t '[ -s "$V2/spool/scan/corrupt/$H/QUARANTINE.txt" ] && [ "$(count "$V2/spool/classify/incoming/*")" -eq 0 ]'
probs=$(jq -r '.problems | join(" | ")' "$V2/spool/scan/corrupt/$H/batch.json" 2>/dev/null)
check "... naming the gap (no. 3 after no. 1) and the unreadable code on sheet 5 ($probs)" \
	t 'grep -q "sheet 3 is separator no. 3 after no. 1" <<<"$probs" && grep -q "sheet 5 is a separator sheet whose code cannot be read" <<<"$probs"'
check "... the unreadable code recorded as found, not valid" \
	[ "$(jq -r '.pages[4].separator | "\(.valid)"' "$V2/spool/scan/corrupt/$H/batch.json")" = false ]
check "served.log: the 6 sheets once each" \
	[ "$(grep -c ' served$' "$VAR/escl/served.log")" -eq 6 ]

# ---- a turn OSD is not sure of: left as scanned, recorded, a person looks ----
sh "$ESCL_SH" stop "$VAR" >/dev/null
: >"$VAR/escl/served.log"
{
	printf '%%!PS\n<< /PageSize [595 842] >> setpagedevice\n/Helvetica findfont 12 scalefont setfont\n'
	printf '80 684 moveto (Stadtverwaltung Musterstadt Amt fuer Bauordnung Zeile 1) show\n'
	printf '80 668 moveto (Stadtverwaltung Musterstadt Amt fuer Bauordnung Zeile 2) show\nshowpage\n'
} >"$T/few.ps"
gs -q -dBATCH -dNOPAUSE -dSAFER -sDEVICE=pgmraw -r300 -sOutputFile="$T/few.pgm" "$T/few.ps"
"$PT" prep "$T/few.pgm" "$S/few180.pgm" --rotate 180 --dpi 300 --to-dpi 150
printf '%s\n' "$S/few180.pgm" "$R/c001.pgm" >"$S/stack3.list"
small_batch 3 none
V3=$T/var3
L3=$(ls "$V3/spool/classify/incoming" 2>/dev/null | head -1)
J3=$V3/spool/classify/incoming/$L3/job.json
check "a page with two lines upside down: exit 0, one letter" t '[ $rc -eq 0 ] && [ -s "$J3" ]'
check "... OSD's doubtful 180 is recorded, the page is not turned ($(jq -c '.capture.pages[0] | {rotation, rotation_doubtful, rotation_doubtful_conf}' "$J3" 2>/dev/null))" \
	[ "$(jq -r '.capture.pages[0] | "\(.rotation) \(.rotation_doubtful)"' "$J3" 2>/dev/null)" = "0 180" ]
check "... and told as an anomaly for the person who checks" \
	sh -c "jq -e '.capture.anomalies[] | select(.page == 1 and (.text | test(\"Lage unsicher.*180 Grad.*bitte prüfen\")))' '$J3' >/dev/null"
check "... the upright page after it is not doubtful" \
	[ "$(jq -r '.capture.pages[1].rotation_doubtful // "none"' "$J3" 2>/dev/null)" = none ]

# ---- figures ----
echo "figures: stack built in $((t_stack - t_start)) s; 120 sides scanned in $secs s" \
	"($(awk -v s="$secs" 'BEGIN { printf "%.0f", 120 * 60 / s }') pages/min, the operator's two" \
	"clearings included); mailroom-scan peak RSS $(events batch-end | jq -r .peak_rss_kb) KiB"
finish
