package bench

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

var errNoProcStat = errors.New("bench: no /proc/<pid>/stat (not Linux?)")

// procCPU returns the user + system CPU time process pid (0: this one) has
// used so far, all its threads together.
func procCPU(pid int) (time.Duration, error) {
	path := "/proc/self/stat"
	if pid != 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/stat"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errNoProcStat, err)
	}
	return parseProcStat(string(b))
}

// parseProcStat reads utime and stime (fields 14 and 15) from the text of
// /proc/<pid>/stat. Field 2, the command name in parentheses, may hold
// spaces and parentheses itself, so fields are counted after the last ')'.
func parseProcStat(s string) (time.Duration, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("bench: /proc stat without a command name: %.40q", s)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("bench: /proc stat with %d fields after the name", len(f))
	}
	var ticks int64
	for _, field := range f[11:13] {
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bench: /proc stat cpu field %q", field)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// cpuMeter reads the CPU time of a target process and of the load
// generator (this process) at the start and the end of the measured window.
type cpuMeter struct {
	pid                     int // the target's process; 0 = not known (external or in-process)
	start                   time.Time
	server, loadgen         time.Duration
	haveServer, haveLoadgen bool
}

func startCPU(pid int) *cpuMeter {
	m := &cpuMeter{pid: pid, start: time.Now()}
	var err error
	if pid != 0 {
		m.server, err = procCPU(pid)
		m.haveServer = err == nil
	}
	m.loadgen, err = procCPU(0)
	m.haveLoadgen = err == nil
	return m
}

// perOK returns the CPU microseconds per ok answer the target and the load
// generator spent over the window, given the ok answers per second; nil
// where a reading is missing.
func (m *cpuMeter) perOK(throughput float64) (server, loadgen *float64) {
	wall := time.Since(m.start).Seconds()
	if wall <= 0 || throughput <= 0 {
		return nil, nil
	}
	per := func(before time.Duration, pid int) *float64 {
		now, err := procCPU(pid)
		if err != nil {
			return nil
		}
		v := (now - before).Seconds() / wall / throughput * 1e6
		return &v
	}
	if m.haveServer {
		server = per(m.server, m.pid)
	}
	if m.haveLoadgen {
		loadgen = per(m.loadgen, 0)
	}
	return server, loadgen
}
