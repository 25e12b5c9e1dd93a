/*
 * bcryptprimitives.dll for Wine 8.0 (Debian 12), which lacks it: Go's
 * runtime (1.24 and later) loads ProcessPrng from it at start and stops
 * with "bcryptprimitives.dll not found" without. ProcessPrng fills a buffer
 * with random bytes; here through RtlGenRandom (advapi32's SystemFunction036),
 * which Wine has. Only for running the Windows build's tests under Wine:
 * real Windows (10 and later) ships its own.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
	while (length > 0) {
		ULONG n = length > 0x40000000 ? 0x40000000 : (ULONG)length;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		length -= n;
	}
	return TRUE;
}
