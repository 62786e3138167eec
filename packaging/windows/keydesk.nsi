; Keydesk's per-user Windows installer (NSIS 3, built on Linux by
; `make windows` with Debian's makensis).
;
; It installs without administrator rights into
; %LOCALAPPDATA%\Programs\Keydesk, adds a Start-menu shortcut, an entry in
; Apps & features (HKCU) with an uninstaller and, optionally (on by
; default), puts the install folder on the user's PATH so that "keydesk" in
; cmd.exe or PowerShell runs keydesk.com, the console build of the same
; program. Silent: Keydesk-<version>-setup.exe /S, and uninstall.exe /S.
; The data folder (%AppData%\Keydesk) and the Credential Manager entries
; are the user's and stay on uninstall.
;
; makensis -DVERSION=0.1.0 -DVERSION4=0.1.0.1 -DSRCDIR=dist/windows
;          -DOUTFILE=dist/Keydesk-0.1.0-setup.exe packaging/windows/keydesk.nsi

Unicode true
Target amd64-unicode
SetCompressor /SOLID lzma
; Keydesk.exe and keydesk.com are nearly the same bytes: a dictionary
; larger than one binary lets the solid block store the second almost free.
SetCompressorDictSize 64
ManifestDPIAware true

!ifndef VERSION
  !error "define VERSION (e.g. -DVERSION=0.1.0)"
!endif
!ifndef VERSION4
  !define VERSION4 "${VERSION}.0"
!endif
!ifndef SRCDIR
  !error "define SRCDIR, the folder holding Keydesk.exe, keydesk.com, winpath.exe and keydesk.ico"
!endif
!ifndef OUTFILE
  !define OUTFILE "Keydesk-${VERSION}-setup.exe"
!endif

!define APPNAME "Keydesk"
!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Keydesk"
!define ENVKEY "Environment"

!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "WinMessages.nsh"

Name "${APPNAME}"
OutFile "${OUTFILE}"
RequestExecutionLevel user
InstallDir "$LOCALAPPDATA\Programs\Keydesk"
InstallDirRegKey HKCU "${UNINSTKEY}" "InstallLocation"
BrandingText "${APPNAME} ${VERSION}"

VIProductVersion "${VERSION4}"
VIAddVersionKey "ProductName" "${APPNAME}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "${APPNAME} ${VERSION} setup"
VIAddVersionKey "LegalCopyright" "Keydesk"

!define MUI_ICON "${SRCDIR}\keydesk.ico"
!define MUI_UNICON "${SRCDIR}\keydesk.ico"
!define MUI_FINISHPAGE_RUN "$INSTDIR\Keydesk.exe"
!define MUI_FINISHPAGE_RUN_TEXT "Open Keydesk"
!define MUI_COMPONENTSPAGE_NODESC

!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Section "Keydesk (required)" SecApp
  SectionIn RO
  SetShellVarContext current
  SetOutPath "$INSTDIR"
  File "${SRCDIR}\Keydesk.exe"
  File "${SRCDIR}\keydesk.com"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  CreateShortcut "$SMPROGRAMS\Keydesk.lnk" "$INSTDIR\Keydesk.exe" "" "$INSTDIR\Keydesk.exe" 0 SW_SHOWNORMAL "" "Issue and manage Company API Keys"

  WriteRegStr HKCU "${UNINSTKEY}" "DisplayName" "${APPNAME}"
  WriteRegStr HKCU "${UNINSTKEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTKEY}" "Publisher" "Keydesk"
  WriteRegStr HKCU "${UNINSTKEY}" "DisplayIcon" "$INSTDIR\Keydesk.exe,0"
  WriteRegStr HKCU "${UNINSTKEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTKEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINSTKEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINSTKEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTKEY}" "NoRepair" 1
  SectionGetSize ${SecApp} $0
  WriteRegDWORD HKCU "${UNINSTKEY}" "EstimatedSize" $0
SectionEnd

; The user's PATH (HKCU\Environment), so that "keydesk ..." works in a new
; cmd.exe or PowerShell window.
;
; winpath.exe (cmd/winpath, built by scripts/build-windows.sh) edits it, not
; NSIS: NSIS strings hold NSIS_MAX_STRLEN characters (1024 in Debian's
; build), ReadRegStr answers "" for a longer value, and writing that back
; empties the user's PATH, which may be 32,767 characters long. winpath
; reads and writes the value with the registry API at any length, byte for
; byte (its type, REG_SZ or REG_EXPAND_SZ, and every other entry stay as
; they were), adds the folder once, and leaves PATH alone when it cannot do
; that safely. It runs hidden (nsExec) from $PLUGINSDIR, which is deleted
; when setup ends, and prints one sentence, shown in the details; its exit
; status: 0 added, 10 added to a new (created) PATH, 11 already there,
; anything else PATH left as it was.
;
; When PATH is left as it was, the sentence says why and what to do, in a
; message box (skipped in silent mode) and the details, and setup exits
; with status 3 instead of 0 (Keydesk itself is installed).
!define EXIT_PATH_UNCHANGED 3

; Pops nsExec's output into $1 without its line ending.
!macro PopSentence
  Pop $1
  ${Do}
    StrCpy $2 $1 1 -1
    ${If} $2 != "$\n"
    ${AndIf} $2 != "$\r"
      ${ExitDo}
    ${EndIf}
    StrCpy $1 $1 -1
  ${Loop}
!macroend

Section "Add keydesk to my PATH (command line)" SecPath
  InitPluginsDir
  File "/oname=$PLUGINSDIR\winpath.exe" "${SRCDIR}\winpath.exe"
  nsExec::ExecToStack '"$PLUGINSDIR\winpath.exe" add "$INSTDIR"'
  Pop $0
  !insertmacro PopSentence
  ${If} $1 == ""
    StrCpy $1 "Your PATH was left as it was because the helper that changes it did not run ($0); add $INSTDIR to it yourself to run keydesk from a command prompt."
  ${EndIf}
  DetailPrint "$1"
  ${If} $0 == 0
  ${OrIf} $0 == 10
    ; 1: appended to the user's PATH; 2: the PATH was created for it
    ; (uninstalling deletes it again if nothing else is on it).
    ${If} $0 == 0
      WriteRegDWORD HKCU "${UNINSTKEY}" "AddedToPath" 1
    ${Else}
      WriteRegDWORD HKCU "${UNINSTKEY}" "AddedToPath" 2
    ${EndIf}
    WriteRegStr HKCU "${UNINSTKEY}" "PathEntry" "$INSTDIR"
    SendMessage ${HWND_BROADCAST} ${WM_SETTINGCHANGE} 0 "STR:Environment" /TIMEOUT=2000
  ${ElseIf} $0 != 11
    MessageBox MB_OK|MB_ICONEXCLAMATION "$1" /SD IDOK
    SetErrorLevel ${EXIT_PATH_UNCHANGED}
  ${EndIf}
SectionEnd

Section "Uninstall"
  SetShellVarContext current
  Delete "$SMPROGRAMS\Keydesk.lnk"
  Delete "$INSTDIR\Keydesk.exe"
  Delete "$INSTDIR\keydesk.com"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"

  ; Take out only the entry setup added (winpath: see SecPath), which gives
  ; the PATH back as it was before, byte for byte.
  ReadRegDWORD $3 HKCU "${UNINSTKEY}" "AddedToPath"
  ${If} $3 == 1
  ${OrIf} $3 == 2
    ReadRegStr $4 HKCU "${UNINSTKEY}" "PathEntry"
    ${If} $4 == ""
      StrCpy $4 "$INSTDIR"
    ${EndIf}
    ${If} $3 == 2
      StrCpy $5 "--created "
    ${Else}
      StrCpy $5 ""
    ${EndIf}
    InitPluginsDir
    File "/oname=$PLUGINSDIR\winpath.exe" "${SRCDIR}\winpath.exe"
    nsExec::ExecToStack '"$PLUGINSDIR\winpath.exe" remove $5"$4"'
    Pop $0
    !insertmacro PopSentence
    ${If} $1 == ""
      StrCpy $1 "Your PATH was left as it was because the helper that changes it did not run ($0); remove $4 from it yourself."
    ${EndIf}
    DetailPrint "$1"
    ${If} $0 == 0
      SendMessage ${HWND_BROADCAST} ${WM_SETTINGCHANGE} 0 "STR:Environment" /TIMEOUT=2000
    ${ElseIf} $0 != 11
      MessageBox MB_OK|MB_ICONEXCLAMATION "$1" /SD IDOK
      SetErrorLevel ${EXIT_PATH_UNCHANGED}
    ${EndIf}
  ${EndIf}
  DeleteRegKey HKCU "${UNINSTKEY}"
SectionEnd
