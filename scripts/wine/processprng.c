/*
 * A stand-in for Windows' bcryptprimitives.dll, for Keydesk's tests under
 * Wine only (never shipped in the installer).
 *
 * Go 1.24+ programs call ProcessPrng from bcryptprimitives.dll at start for
 * their random numbers. Wine added that DLL in 9.0; Debian 12's Wine 8 lacks
 * it, so every Go program dies at start with "bcryptprimitives.dll not
 * found". This DLL exports ProcessPrng and fills the buffer from
 * RtlGenRandom (advapi32's SystemFunction036), which Wine implements by
 * reading the host's /dev/urandom.
 *
 * Built by scripts/wine-prefix.sh:
 *   x86_64-w64-mingw32-gcc -O2 -shared -o bcryptprimitives.dll \
 *     processprng.c processprng.def -ladvapi32
 */
#include <windows.h>

/* RtlGenRandom: BOOLEAN SystemFunction036(PVOID buffer, ULONG length). */
__declspec(dllimport) BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/*
 * ProcessPrng fills data with len cryptographically random bytes. Windows
 * documents it as always returning TRUE; this stand-in returns FALSE if
 * RtlGenRandom fails, and Go then aborts rather than run without
 * randomness.
 */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
	(void)inst; (void)reason; (void)reserved;
	return TRUE;
}
