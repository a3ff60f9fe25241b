//go:build !linux

package main

// outputInCPUCgroup needs Linux cgroups.
func outputInCPUCgroup(quota, period int, exe string, env []string) ([]byte, error) {
	unsupported("CPU cgroups are Linux-only")
	return nil, nil
}
